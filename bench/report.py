"""Render bench/results/*.json as the Markdown tables of bench/README.md.

    python -m bench.report > bench/RESULTS.md
"""

import json

from .common import RESULTS, _fmt


def main() -> None:
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        if "rows" not in result:  # a plain report (the load test): one line per figure
            header = {k: result.pop(k, "") for k in ("command", "date", "machine")}
            result = {"benchmark": path.stem, **header,
                      "rows": [{"measure": k, "value": v} for k, v in result.items()]}
        rows = result["rows"]
        keys = list(dict.fromkeys(k for row in rows for k in row))
        print(f"### {result['benchmark']}\n")
        print(f"`{result['command']}` — {result['date']}, {result['machine']}\n")
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
        for row in rows:
            print("| " + " | ".join(_fmt(row.get(k)) for k in keys) + " |")
        if result.get("notes"):
            print(f"\n{result['notes']}")
        print()


if __name__ == "__main__":
    main()
