"""The Lambda package: lean, and able to serve requests on its own against DynamoDB Local."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from taskapp import create_app, store
from taskapp.config import TestConfig
from taskapp.models import Task
from tests.events import body_of, rest_event
from tools.lambda_runner import unpack

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("pytest", "moto", "troposphere", "cfn_flip", "boto3", "botocore", "ruff", "pip")


@pytest.fixture(scope="module")
def package():
    """`make package STAGE=dev`, as a user builds it: dist/taskapp-dev.zip."""
    subprocess.run(["make", "-s", "package", "STAGE=dev"], cwd=ROOT, check=True)
    return ROOT / "dist" / "taskapp-dev.zip"


def test_package_holds_only_what_runs_in_production(package):
    names = zipfile.ZipFile(package).namelist()
    top = {name.split("/")[0] for name in names}

    assert {"handler.py", "wsgi.py", "zappa_settings.py", "taskapp", "flask", "pynamodb"} <= top
    for forbidden in FORBIDDEN:
        assert forbidden not in top
    assert not any(
        name.startswith(("tests/", "tools/", "deploy/", "node_modules/")) for name in names
    )
    # 3.1 MiB without cryptography, which PyJWT needs to verify RS256/ES256 tokens (4.7 MiB).
    assert package.stat().st_size <= 10 * 1024 * 1024


def test_package_carries_bytecode_that_lambda_can_use(package):
    """Hash-based, unchecked .pyc for every module: no compiling at a cold start."""
    archive = zipfile.ZipFile(package)
    names = set(archive.namelist())
    tag = sys.implementation.cache_tag
    for module in ("wsgi.py", "taskapp/tasks.py", "flask/app.py", "handler.py"):
        folder, _, name = module.rpartition("/")
        pyc = f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{tag}.pyc"
        assert pyc in names
        flags = int.from_bytes(archive.read(pyc)[4:8], "little")
        assert flags == 0b01  # hash-based, source not checked


@pytest.fixture
def lambda_root(package, tmp_path):
    return unpack(package, tmp_path)


def run_package(lambda_root, tmp_path, events, endpoint):
    task, runtime = lambda_root
    (tmp_path / "events.json").write_text(json.dumps(events))
    env = {
        "PATH": os.environ["PATH"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DYNAMODB_ENDPOINT": endpoint,
        # Lambda's configuration, as the dev stage sets it.
        **json.loads((ROOT / "zappa_settings.json").read_text())["dev"][
            "aws_environment_variables"
        ],
    }
    subprocess.run(
        [sys.executable, "-S", str(ROOT / "tools" / "lambda_runner.py"), str(task), str(runtime)]
        + [str(tmp_path / "events.json"), str(tmp_path / "results.json")],
        env=env,
        check=True,
        timeout=120,
    )
    return json.loads((tmp_path / "results.json").read_text())


def test_unpacked_package_serves_requests(lambda_root, tmp_path, dynamodb_local):
    app = create_app(TestConfig("taskapp-dev", dynamodb_local))
    with app.app_context():
        store.ensure_table()
    try:
        created = run_package(
            lambda_root,
            tmp_path,
            [rest_event("POST", "/tasks", body={"title": "Zipped"})],
            dynamodb_local,
        )
        task = body_of(created["results"][0]["response"])["task"]
        later = run_package(
            lambda_root,
            tmp_path,
            [rest_event("GET", f"/tasks/{task['taskId']}"), rest_event("GET", "/nowhere")],
            dynamodb_local,
        )
    finally:
        with app.app_context():
            Task.delete_table()

    assert created["results"][0]["response"]["statusCode"] == 201
    read, missing = (result["response"] for result in later["results"])
    assert body_of(read) == {"task": task}
    assert missing["statusCode"] == 404
    task_dir = str(lambda_root[0])
    origins = later["origins"]
    for module in ("flask", "pynamodb", "marshmallow", "taskapp"):
        assert origins[module].startswith(task_dir)
    assert origins["botocore"].startswith(str(lambda_root[1]))
    assert origins["pytest"] is None and origins["moto"] is None
