"""The Lambda package: lean, and able to serve requests on its own against DynamoDB Local."""

import json
import os
import shutil
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest

from taskapp import create_app, store
from taskapp.config import TestConfig
from taskapp.models import Task
from taskapp.pages import DOCS_ASSETS
from tests.events import body_of, rest_event
from tests.helpers import deploy_python
from tests.tokens import AUDIENCE, ISSUER, Keys
from tools.lambda_runner import unpack
from tools.zappa_offline import DEPLOY_VENV

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("pytest", "moto", "troposphere", "cfn_flip", "boto3", "botocore", "ruff", "pip")
# The X-Ray SDK, in the package of a stage that traces ("xray_tracing") only.
TRACING = ("aws_xray_sdk", "wrapt")
# What a working tree may hold besides the project: secrets, editor and OS litter, a stray script.
DECOYS = (
    ".env",
    ".env.local",
    ".aws-credentials-test",
    "keys/other.pem",
    "server.key",
    ".git/config",
    ".idea/workspace.xml",
    ".vscode/settings.json",
    ".DS_Store",
    ".hypothesis/examples/entry",
    "scratch.py",
    "taskapp/.env",
    "taskapp/.tasks.py.swp",
    "taskapp/static/.DS_Store",
    "taskapp/static/signing.pem",
)
# Left out of the copy: big, and named in Zappa's exclude list anyway.
NOT_COPIED = (".venv*", "node_modules", ".git", "dist", "artifacts", ".*_cache", "__pycache__")


def build(folder, **dev_settings):
    """`make package STAGE=dev`, as a user builds it, in a copy of the project with DECOYS
    lying about and ``dev_settings`` in the dev stage's settings; the copy shares the project's
    .venv-deploy."""
    project = folder / "taskapp"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    (project / ".venv-deploy").symlink_to(ROOT / ".venv-deploy")
    for decoy in DECOYS:
        (project / decoy).parent.mkdir(parents=True, exist_ok=True)
        (project / decoy).write_text("AWS_SECRET_ACCESS_KEY=not-to-be-shipped\n")
    settings = json.loads((project / "zappa_settings.json").read_text())
    settings["dev"].update(dev_settings)
    (project / "zappa_settings.json").write_text(json.dumps(settings))
    subprocess.run(["make", "-s", "package", "STAGE=dev"], cwd=project, check=True)
    return project / "dist" / "taskapp-dev.zip"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return build(tmp_path_factory.mktemp("build"))


def test_package_holds_only_what_runs_in_production(package):
    names = zipfile.ZipFile(package).namelist()
    top = {name.split("/")[0] for name in names}

    assert {"handler.py", "wsgi.py", "zappa_settings.py", "taskapp", "flask", "pynamodb"} <= top
    for forbidden in FORBIDDEN + TRACING:
        assert forbidden not in top
    assert not any(
        name.startswith(("tests/", "tools/", "deploy/", "node_modules/")) for name in names
    )
    # 3.1 MiB without cryptography, which PyJWT needs to verify RS256/ES256 tokens (4.7 MiB).
    assert package.stat().st_size <= 10 * 1024 * 1024


def test_package_ships_nothing_else_that_lies_in_the_project(package):
    names = zipfile.ZipFile(package).namelist()
    top = {name.split("/")[0] for name in names}

    assert [name for name in names if name in DECOYS] == []
    assert not top & {"keys", ".git", ".idea", ".vscode", ".hypothesis", "postman"}
    assert not top & {"zappa_settings.json", "README.md", "Makefile", "requirements.txt"}
    assert not any(Path(name).name.startswith(".") for name in names if name.startswith("taskapp/"))


def test_package_ships_only_the_swagger_ui_assets_that_docs_uses(package):
    names = zipfile.ZipFile(package).namelist()

    assets = {
        name.rpartition("/")[2] for name in names if name.startswith("swagger_ui_bundle/vendor/")
    }
    assert assets == DOCS_ASSETS


def test_the_apps_wsgi_is_not_zappas(package):
    """Zappa warns of a namespace collision between wsgi.app and its own wsgi module; there is
    none: the package's wsgi.py is the app's, and the handler imports zappa.wsgi."""
    archive = zipfile.ZipFile(package)

    assert archive.read("wsgi.py") == (ROOT / "wsgi.py").read_bytes()
    assert b"from zappa.wsgi import" in archive.read("handler.py")


def test_package_carries_bytecode_that_lambda_can_use(package):
    """Hash-based, unchecked .pyc for every module: no compiling at a cold start."""
    archive = zipfile.ZipFile(package)
    names = set(archive.namelist())
    tag = deploy_python()["cache_tag"]
    for module in ("wsgi.py", "taskapp/tasks.py", "flask/app.py", "handler.py"):
        folder, _, name = module.rpartition("/")
        pyc = f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{tag}.pyc"
        assert pyc in names
        flags = int.from_bytes(archive.read(pyc)[4:8], "little")
        assert flags == 0b01  # hash-based, source not checked


@pytest.fixture
def lambda_root(package, tmp_path):
    return unpack(package, tmp_path)


def run_package(lambda_root, tmp_path, events, endpoint, **settings):
    return start_package(lambda_root, tmp_path, events, endpoint, **settings)()


def start_package(lambda_root, tmp_path, events, endpoint, name="", **settings):
    """Start the package's handler on ``events`` in a bare interpreter; returns a function that
    waits for it and answers its results."""
    task, runtime = lambda_root
    (tmp_path / f"events{name}.json").write_text(json.dumps(events))
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
        **settings,
    }
    results = tmp_path / f"results{name}.json"
    process = subprocess.Popen(
        # The Python that built the package, bare (-S), as Lambda's runtime is.
        [str(DEPLOY_VENV / "bin" / "python"), "-S", str(ROOT / "tools" / "lambda_runner.py")]
        + [str(task), str(runtime)]
        + [str(tmp_path / f"events{name}.json"), str(results)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )

    def finished():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        return json.loads(results.read_text()) | {"output": output}

    return finished


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
    (emf,) = [json.loads(line) for line in created["output"].splitlines() if '"_aws"' in line]
    assert (emf["Stage"], emf["Operation"], emf["TasksCreated"]) == ("dev", "createTask", [1.0])
    read, missing = (result["response"] for result in later["results"])
    assert body_of(read) == {"task": task}
    assert missing["statusCode"] == 404
    task_dir = str(lambda_root[0])
    origins = later["origins"]
    for module in ("flask", "pynamodb", "marshmallow", "taskapp"):
        assert origins[module].startswith(task_dir)
    assert origins["botocore"].startswith(str(lambda_root[1]))
    assert origins["pytest"] is None and origins["moto"] is None


def test_everything_the_package_carries_is_imported(lambda_root, tmp_path, dynamodb_local):
    """Nothing rides along that the stage never loads: a signed-in call (AUTH_MODE=jwt, an RS256
    token, so the crypto loads), the document, /docs and /app import every top-level module and
    package in the zip."""
    keys = Keys()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks("rsa-1")))
    app = create_app(TestConfig("taskapp-dev", dynamodb_local))
    with app.app_context():
        store.ensure_table()
    try:
        ran = run_package(
            lambda_root,
            tmp_path,
            [
                rest_event("GET", "/tasks", headers={"Authorization": f"Bearer {keys.token()}"}),
                rest_event("GET", "/openapi.json"),
                rest_event("GET", "/docs"),
                rest_event("GET", "/app"),
            ],
            dynamodb_local,
            AUTH_MODE="jwt",
            AUTH_JWKS_URL=str(jwks),
            AUTH_ISSUER=ISSUER,
            AUTH_AUDIENCE=AUDIENCE,
        )
    finally:
        with app.app_context():
            Task.delete_table()

    assert [result["response"]["statusCode"] for result in ran["results"]] == [200] * 4
    carried = {
        name.removesuffix(".py").split(".")[0]
        for name in (path.name for path in lambda_root[0].iterdir())
        if not name.endswith((".dist-info", ".json")) and name not in ("__pycache__", "__init__.py")
    }
    assert carried - set(ran["imported"]) == set()


def test_the_packaged_schedule_sends_each_reminder_once_from_two_runs(
    lambda_root, tmp_path, dynamodb_local
):
    """EventBridge's event through the package's handler, twice at once, against DynamoDB Local
    and SES v2 on moto's server: each due reminder is sent once."""
    import boto3

    from taskapp.models import reminder_bucket
    from taskapp.store.base import now
    from taskapp.store.reminders import save_cursor
    from tools.seeding import seed_due_reminders
    from tools.zappa_offline import MotoServer

    sender = json.loads((ROOT / "zappa_settings.json").read_text())["dev"][
        "aws_environment_variables"
    ]["REMINDER_SENDER"]
    app = create_app(TestConfig("taskapp-dev", dynamodb_local))
    with app.app_context():
        store.ensure_table()
        stamp = now()
        save_cursor(reminder_bucket(stamp), stamp)
        addresses = seed_due_reminders(40, stamp, stamp, "https://example.com/dev/app")
    rule = "arn:aws:events:us-east-1:123456789012:rule/taskapp-dev-wsgi.send_reminders"
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "resources": [rule]}
    try:
        with MotoServer() as moto:
            ses = {"region_name": "us-east-1", "endpoint_url": moto.endpoint}
            boto3.client("sesv2", **ses).create_email_identity(EmailIdentity=sender)
            runs = [
                start_package(
                    lambda_root,
                    tmp_path,
                    [event],
                    dynamodb_local,
                    name=str(index),
                    AWS_ENDPOINT_URL_SESV2=moto.endpoint,
                )
                for index in range(2)
            ]
            for finished in runs:
                finished()
            sent = boto3.client("ses", **ses).get_send_quota()["SentLast24Hours"]
    finally:
        with app.app_context():
            Task.delete_table()

    assert sent == len(addresses)


def test_a_traced_stages_package_sends_each_dynamodb_call_as_a_subsegment(
    package, tmp_path_factory, tmp_path, dynamodb_local
):
    """A stage with "xray_tracing": its package carries the X-Ray SDK, and with TRACING on (the
    settings hook sets it) each DynamoDB call of a sampled invocation reaches the X-Ray daemon
    (a UDP socket here, at the address Lambda gives) as a subsegment of Lambda's trace."""
    untraced, package = package, build(tmp_path_factory.mktemp("traced"), xray_tracing=True)
    names = zipfile.ZipFile(package).namelist()
    assert {name.split("/")[0] for name in names} >= set(TRACING)
    # The SDK and wrapt (with its C extension) add 0.6 MB to the package of the stage.
    assert package.stat().st_size - untraced.stat().st_size <= 1024 * 1024
    lambda_root = unpack(package, tmp_path / "lambda")
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    trace, parent = "1-6759e988-bd862e3fe1be46a994272793", "557abcec3ee5a047"
    app = create_app(TestConfig("taskapp-dev", dynamodb_local))
    with app.app_context():
        store.ensure_table()
    try:
        with daemon:
            traced = run_package(
                lambda_root,
                tmp_path,
                [
                    rest_event("POST", "/tasks", body={"title": "Traced"}),
                    rest_event("GET", "/tasks/{taskId}"),
                ],
                dynamodb_local,
                TRACING="true",
                # What Lambda's runtime sets when the function traces and the call is sampled.
                LAMBDA_TASK_ROOT=str(lambda_root[0]),
                AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{daemon.getsockname()[1]}",
                AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
                _X_AMZN_TRACE_ID=f"Root={trace};Parent={parent};Sampled=1",
            )
            datagrams = [daemon.recv(65536).decode() for _ in traced["results"]]
    finally:
        with app.app_context():
            Task.delete_table()

    assert [result["response"]["statusCode"] for result in traced["results"]] == [201, 200]
    subsegments = []
    for datagram in datagrams:
        header, document = datagram.split("\n", 1)
        assert json.loads(header) == {"format": "json", "version": 1}
        subsegments.append(json.loads(document))
    for subsegment in subsegments:
        assert (subsegment["trace_id"], subsegment["parent_id"]) == (trace, parent)
        assert subsegment["namespace"] == "aws" and subsegment["name"] == "dynamodb"
    create, read = (subsegment["aws"] for subsegment in subsegments)
    assert create["operation"] == "TransactWriteItems"
    assert (read["operation"], read["table_name"]) == ("GetItem", "taskapp-dev")
    assert not any("Traced" in datagram for datagram in datagrams)  # no task content
