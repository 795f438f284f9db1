"""Memory: RSS after loading the whole zoo (models warmed up), and the server's RSS before and
after 20 sessions (``bench.load``'s websocket-protocol client) have opened Explore, moved the
slider and switched images for 20 s.

    python -m bench.memory [--sessions 20]
"""

import argparse
import subprocess
import sys

from .common import report

LOAD_ZOO = """
import os, resource
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from advcore import zoo, data, attacks
import numpy as np
for name in data.DATASETS:
    data.load(name, "test")
for card in zoo.list_cards():
    m = zoo.load(card["id"])
    shape = data.info(card["dataset"]).shape
    attacks.run("pgd", m, np.zeros((1, *shape), np.float32), [0], eps=0.1, steps=2)
print(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    zoo_kb = int(subprocess.run([sys.executable, "-c", LOAD_ZOO], capture_output=True, text=True,
                                check=True).stdout.strip().splitlines()[-1])
    from bench.load import run_load
    load = run_load(args.sessions, 20)
    report("memory", [
        {"measure": "whole zoo + test sets loaded, attacks compiled (one process)", "MB": zoo_kb / 1024,
         "target": "< 1500"},
        {"measure": "server after 1 session", "MB": load["rss_before_mb"]},
        {"measure": f"server with {args.sessions} more sessions", "MB": load["rss_with_sessions_mb"],
         "target": f"+ < 300 ({load['rss_with_sessions_mb'] - load['rss_before_mb']} MB added)"},
        {"measure": "server after they left", "MB": load["rss_after_mb"]},
    ], f"sessions errors: {load['errors']}, requests: {load['requests']}, p50 {load['p50_s']} s")


if __name__ == "__main__":
    main()
