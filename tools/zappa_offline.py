"""Zappa's deploy cycle offline: moto's server on loopback, and the real `zappa` CLI pointed at it.

Used by tests/test_deploy_cycle.py and benchmarks/bench_deploy.py. The zappa CLI runs from
the lean deploy virtualenv (`make deploy-env`), with a copy of zappa_settings.json whose only
change is `touch` off, because touch calls the new URL over the internet.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tools.dynamodb_local import ROOT, free_port, port_is_open

DEPLOY_VENV = ROOT / ".venv-deploy"


class MotoServer:
    """tools/moto_server.py on 127.0.0.1, and the environment that points boto3 at it."""

    def __init__(self, log=None):
        self.port = free_port()
        self.log = log
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.output = open(self.log, "ab") if self.log else None
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "moto_server.py"), "-H", "127.0.0.1"]
            + ["-p", str(self.port)],
            stdout=self.output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not port_is_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's server did not start")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.output:
            self.output.close()

    @property
    def env(self):
        """The caller's environment with AWS pointed at moto and nothing of the real account."""
        keep = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "DYNAMODB_", "VIRTUAL_ENV", "TABLE_NAME"))
        }
        return keep | {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }


class Zappa:
    """Runs `zappa COMMAND STAGE -s <test copy of the settings> ...` against a MotoServer."""

    def __init__(self, moto, folder, stage="dev"):
        subprocess.run(["make", "-s", "deploy-env"], cwd=ROOT, check=True)
        self.stage = stage
        settings = json.loads((ROOT / "zappa_settings.json").read_text())
        settings["common"]["touch"] = False
        self.settings = Path(folder) / "zappa_settings.json"
        self.settings.write_text(json.dumps(settings))
        bin_dir = DEPLOY_VENV / "bin"
        self.env = moto.env | {
            "VIRTUAL_ENV": str(DEPLOY_VENV),
            "PATH": f"{bin_dir}{os.pathsep}{moto.env['PATH']}",
        }

    def __call__(self, command, *args):
        """Run one command; returns its output and its wall time in seconds."""
        started = time.perf_counter()
        result = subprocess.run(
            [str(DEPLOY_VENV / "bin" / "zappa"), command, self.stage, "-s", str(self.settings)]
            + list(args),
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"zappa {command} failed:\n{result.stdout}{result.stderr}")
        return result.stdout, time.perf_counter() - started
