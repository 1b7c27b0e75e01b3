"""Benchmark: how long the team's deploy commands take, with the real zappa CLI against moto.

Runs deploy, update and undeploy of the dev stage several times on a fresh moto server each
time, and prints the median wall time of each command. moto answers in milliseconds, so the
figures are Zappa's own work (packaging, bytecode, uploads, CloudFormation calls, the
post-deploy hook), a floor under what a real account adds. Run with `make bench`.
"""

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.zappa_offline import MotoServer, Zappa  # noqa: E402

RUNS = 3
COMMANDS = (("deploy",), ("update",), ("status",), ("undeploy", "--yes", "--remove-logs"))


def main():
    times = {command[0]: [] for command in COMMANDS}
    for _ in range(RUNS):
        with MotoServer() as moto, tempfile.TemporaryDirectory() as folder:
            zappa = Zappa(moto, folder)
            for command in COMMANDS:
                _, seconds = zappa(*command)
                times[command[0]].append(seconds)
    print(f"zappa against moto, dev stage (median of {RUNS} fresh servers):")
    for command, seconds in times.items():
        print(f"  zappa {command:<10}{statistics.median(seconds):>7.1f} s")


if __name__ == "__main__":
    main()
