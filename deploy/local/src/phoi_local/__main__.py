"""`python -m phoi_local [run|replay]` — the one-machine stack."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m phoi_local", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start everything with demo data (default)")
    rp = sub.add_parser("replay", help="re-publish retained outbox events (after a broker lost its log)")
    rp.add_argument("--since-hours", type=float, default=24 * 30)
    args = parser.parse_args()
    if args.command == "replay":
        from phoi_local.stack import StackConfig, replay_outboxes

        replayed = asyncio.run(replay_outboxes(StackConfig(), timedelta(hours=args.since_hours)))
        print(f"marked for re-publishing: {replayed}")
        return 0
    from phoi_local.launcher import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
