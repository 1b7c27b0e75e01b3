"""Real sockets for tests: the app over HTTP, and a DynamoDB endpoint that never answers."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from werkzeug.serving import make_server

from tools.dynamodb_local import ROOT, free_port, port_is_open


class AppServer:
    """The app behind werkzeug's threaded HTTP server on 127.0.0.1, in this process."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts connections and never answers, like a DynamoDB endpoint that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.held.append(connection)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        for connection in self.held:
            connection.close()
        self.sock.close()


class LocalRun:
    """tools/run_local.py (what `make run` runs) as a user starts it, in its own process."""

    def __init__(self, tmp_path, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "DYNAMODB_LOCAL_PORT": str(free_port()),
            "DYNAMODB_DATA_DIR": str(tmp_path / "dynamodb"),
            **env,
        }
        self.log = open(tmp_path / f"server-{self.port}.log", "ab")

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "run_local.py")],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while not port_is_open(self.port):
            assert self.process.poll() is None, "the server exited; see its log in tmp_path"
            assert time.monotonic() < deadline, "the server did not start in 90 s"
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def call(base, method, path, body=None, headers=None):
    """One HTTP request to a server under test: its status and JSON body (None if empty)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
