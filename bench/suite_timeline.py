"""Where a test run's wall time went: each worker's busy and idle seconds, the files that took longest, and
how long one worker ran alone at the end.

Record a run, then read it (``--write`` refreshes tests/file_seconds.json, the order the workers take the
files in, longest first):

    ADVCORE_TEST_TIMELINE=/tmp/timeline.jsonl python -m pytest -q
    python -m bench.suite_timeline /tmp/timeline.jsonl [--write]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

FILE_SECONDS = Path(__file__).resolve().parent.parent / "tests" / "file_seconds.json"


def read(path: Path) -> list[dict]:
    """The timeline's lines: {"worker", "test", "start", "end"} (Unix seconds)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def file_seconds(rows: list[dict]) -> dict[str, float]:
    """Seconds per test file (setup, call and teardown of its tests), longest first."""
    seconds: dict[str, float] = defaultdict(float)
    for row in rows:
        seconds[row["test"].split("::")[0]] += row["end"] - row["start"]
    return {f: round(s, 1) for f, s in sorted(seconds.items(), key=lambda kv: -kv[1])}


def summary(rows: list[dict]) -> dict:
    """Wall seconds from the first test's start to the last one's end, each worker's busy seconds and the
    seconds it waited after its own last test, and the ten longest files."""
    first, last = min(r["start"] for r in rows), max(r["end"] for r in rows)
    workers = {}
    for worker in sorted({r["worker"] for r in rows}):
        own = [r for r in rows if r["worker"] == worker]
        workers[worker] = {"tests": len(own), "busy_s": round(sum(r["end"] - r["start"] for r in own), 1),
                           "done_before_the_end_s": round(last - max(r["end"] for r in own), 1)}
    return {"wall_s": round(last - first, 1), "workers": workers,
            "longest_files_s": dict(list(file_seconds(rows).items())[:10])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timeline", type=Path, help="the file ADVCORE_TEST_TIMELINE named")
    parser.add_argument("--write", action="store_true", help=f"write the files' seconds to {FILE_SECONDS.name}")
    args = parser.parse_args(argv)
    rows = read(args.timeline)
    print(json.dumps(summary(rows), indent=2))
    if args.write:
        FILE_SECONDS.write_text(json.dumps(file_seconds(rows), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
