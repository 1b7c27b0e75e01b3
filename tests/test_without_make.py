"""The README's "Without make" block, pasted into a shell at the top of a fresh clone, serves.

A full build, not a reused virtualenv: the block installs only requirements.txt (about 15 s
from pip's cache) and runs `npm ci` (a few seconds from npm's cache), so reusing .venv or
node_modules would save little and would leave the install lines unproven; worse, `npm ci`
empties node_modules, so it must never run on this checkout's. The clone is a copy of the
files git would commit (tracked and new, not ignored), so the block is tested as it stands.
"""

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import boto3

from tools.dynamodb_local import ROOT, free_port, port_is_open


def without_make_block():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**Without make**") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def fresh_clone(folder):
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():  # a file deleted but not yet committed is not cloned
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


def shell_environment(api_port):
    """This machine's environment without the settings the block must set itself."""
    dropped = ("AWS_", "DYNAMODB_", "FLASK_", "TABLE_NAME", "VIRTUAL_ENV", "PYTHONPATH")
    env = {name: value for name, value in os.environ.items() if not name.startswith(dropped)}
    env["PATH"] = os.pathsep.join(
        entry for entry in env["PATH"].split(os.pathsep) if not entry.startswith(str(ROOT))
    )
    env["FLASK_RUN_PORT"] = str(api_port)  # `flask run` reads its port from here
    return env


def test_the_without_make_block_installs_creates_the_table_and_serves(tmp_path):
    block = without_make_block()
    database_port, api_port = free_port(), free_port()
    assert block.count("8000") == 2, "the block's DynamoDB Local port, in two places"
    clone = fresh_clone(tmp_path / "taskapp")
    log = tmp_path / "shell.log"
    with open(log, "wb") as output:
        shell = subprocess.Popen(
            ["bash", "-c", block.replace("8000", str(database_port))],
            cwd=clone,
            env=shell_environment(api_port),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
    try:
        deadline = time.monotonic() + 600
        while not port_is_open(api_port):
            assert shell.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/tasks", timeout=30) as answer:
            assert answer.status == 200
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=f"http://127.0.0.1:{database_port}", region_name="us-east-1"
        )
        assert dynamodb.list_tables()["TableNames"] == ["taskapp-local"]

        # Ctrl-C: the terminal interrupts the foreground process group; then `kill` runs.
        os.killpg(shell.pid, signal.SIGINT)
        assert shell.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGTERM)
            shell.wait(timeout=30)

    # `kill` returns at once; DynamoDB Local's launcher stops it, then ends itself.
    deadline = time.monotonic() + 30
    while group_is_alive(shell.pid) or port_is_open(database_port):
        assert time.monotonic() < deadline, "DynamoDB Local outlived the block"
        time.sleep(0.2)
    assert not port_is_open(api_port)
    assert "Created table taskapp-local." in log.read_text()


def group_is_alive(group):
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
