"""`python -m bench [name ...]`: run the benchmarks (all by default), one JSON object per line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from phoi_kit.logging import configure_logging

from bench import audit_ingest, inventory_ranges, outbox_latency, peak_season, portal_pages

BENCHMARKS: dict[str, Callable[[], Coroutine[Any, Any, dict[str, Any]]]] = {
    "outbox_to_consumer": outbox_latency.run,
    "inventory_ranges": inventory_ranges.run,
    "audit_ingest": audit_ingest.run,
    "portal_pages": portal_pages.run,
    "peak_season": peak_season.run,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], default=[])
    args = parser.parse_args()
    configure_logging("bench", "WARNING")  # logs go to stderr; stdout is the JSON figures only
    for name in args.names or list(BENCHMARKS):
        result = asyncio.run(BENCHMARKS[name]())
        print(json.dumps({"benchmark": name, **result}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
