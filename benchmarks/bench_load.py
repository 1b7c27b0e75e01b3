"""Load benchmark: the app under gunicorn against DynamoDB Local, driven by wrk.

A mixed workload (benchmarks/load.lua: 25% create, 30% list, 25% read, 12% update, 8%
delete) for a bounded time, several runs; prints throughput, p50 and p99 latency and the
count of errors (connection errors, timeouts and non-2xx answers), which must be zero.
Everything listens on 127.0.0.1 only. Needs wrk (Debian's package); run with `make bench`.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.dynamodb_local import DynamoDBLocal, free_port, port_is_open  # noqa: E402

RUNS = 3
SECONDS = 10
THREADS, CONNECTIONS = 2, 16
WORKERS, WORKER_THREADS = 2, 8


def main():
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with DynamoDBLocal() as database:
        env = os.environ | {
            "TABLE_NAME": "taskapp-load",
            "DYNAMODB_ENDPOINT": database.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LOG_LEVEL": "WARNING",  # one log line per request would measure the terminal
        }
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [bin_dir / "flask", "--app", "wsgi", "create-table"], cwd=ROOT, env=env, check=True
        )
        port = free_port()
        server = subprocess.Popen(
            [bin_dir / "gunicorn", "--workers", str(WORKERS), "--threads", str(WORKER_THREADS)]
            + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT,
            env=env,
        )
        try:
            while not port_is_open(port):
                time.sleep(0.1)
            url = f"http://127.0.0.1:{port}"
            wrk(url, 3)  # warm-up: connections, botocore clients, the JVM's JIT
            results = [wrk(url, SECONDS) for _ in range(RUNS)]
        finally:
            server.terminate()
            server.wait(timeout=20)

    print(
        f"gunicorn ({WORKERS} workers x {WORKER_THREADS} threads) + DynamoDB Local, "
        f"wrk -t{THREADS} -c{CONNECTIONS}, {RUNS} runs of {SECONDS} s, mixed workload:"
    )
    print(f"{'run':<6}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for index, (count, rate, p50, p99, errors) in enumerate(results, 1):
        print(f"{index:<6}{count:>10}{rate:>10.1f}{p50:>10.2f}{p99:>10.2f}{errors:>8}")
    columns = list(zip(*results, strict=True))
    print(
        f"{'median':<6}{statistics.median(columns[0]):>10.0f}{statistics.median(columns[1]):>10.1f}"
        f"{statistics.median(columns[2]):>10.2f}{statistics.median(columns[3]):>10.2f}"
        f"{sum(columns[4]):>8} (total)"
    )


def wrk(url, seconds):
    output = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
        + ["-s", str(ROOT / "benchmarks" / "load.lua"), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$", output, re.M)
    count, rate, p50, p99, errors = match.groups()
    return int(count), float(rate), float(p50), float(p99), int(errors)


if __name__ == "__main__":
    main()
