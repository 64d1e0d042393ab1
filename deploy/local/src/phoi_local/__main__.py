"""`python -m phoi_local [run|replay|backup|restore]` — the one-machine stack."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m phoi_local", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start everything with demo data (default)")
    rp = sub.add_parser("replay", help="re-publish retained outbox events (after a broker lost its log)")
    rp.add_argument("--since-hours", type=float, default=24 * 30)
    bp = sub.add_parser("backup", help="a consistent backup of every database and the Keycloak stand-in's state")
    bp.add_argument("--to", type=Path, default=None, help="folder outside the repository (default: ~/phoi-backups)")
    sp = sub.add_parser("restore", help="bring the STOPPED stack back from a backup folder")
    sp.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command in ("backup", "restore"):
        return _backup_or_restore(args)
    if args.command == "replay":
        from phoi_local.stack import StackConfig, replay_outboxes

        replayed = asyncio.run(replay_outboxes(StackConfig(), timedelta(hours=args.since_hours)))
        print(f"marked for re-publishing: {replayed}")
        return 0
    from phoi_local.launcher import run

    return run()


def _backup_or_restore(args: argparse.Namespace) -> int:
    from phoi_local.backup import BackupError, backup_stack, default_destination, restore_stack
    from phoi_local.stack import StackConfig

    try:
        if args.command == "backup":
            folder = backup_stack(StackConfig(), args.to or default_destination())
            print(f"backup written to {folder} (personal data: owner-only; see docs/RESTORE_RUNBOOK.md)")
        else:
            counts = restore_stack(StackConfig(), args.folder)
            rows = sum(sum(tables.values()) for tables in counts.values())
            print(f"restored {len(counts)} databases ({rows} rows, as the backup counted); now `make run`")
    except BackupError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
