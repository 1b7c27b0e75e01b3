"""The project's flask commands: what they do, and that every failure they foresee is one
sentence saying what to set, with or without the settings the app needs."""

import os
import subprocess
import sys
import threading
import time

import boto3
import jwt
import pytest

from taskapp import create_app
from taskapp.config import TestConfig
from taskapp.models import Task
from tools.dynamodb_local import ROOT, DynamoDBLocal, free_port


@pytest.fixture
def bare_app(backend):
    """An app whose table does not exist yet."""
    app = create_app(TestConfig("taskapp-cli-test", backend))
    yield app
    if backend is not None and Task.exists():
        Task.delete_table()


def test_create_table_is_idempotent(bare_app, backend):
    runner = bare_app.test_cli_runner()

    first = runner.invoke(args=["create-table"])
    second = runner.invoke(args=["create-table"])

    assert first.exit_code == 0, first.output
    assert "Created table taskapp-cli-test" in first.output
    assert second.exit_code == 0, second.output
    assert "already exists" in second.output

    dynamodb = boto3.client("dynamodb", endpoint_url=backend, region_name="us-east-1")
    table = dynamodb.describe_table(TableName="taskapp-cli-test")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["pk", "sk"]
    indexes = {index["IndexName"]: index for index in table["LocalSecondaryIndexes"]}
    assert set(indexes) == {"status-index", "due-index", "changes-index"}
    assert {index["Projection"]["ProjectionType"] for index in indexes.values()} == {"ALL"}
    # The reminder index: global (it spans owners), sparse, keyed by minute and address.
    (reminders,) = table["GlobalSecondaryIndexes"]
    assert reminders["IndexName"] == "reminder-index"
    assert [key["AttributeName"] for key in reminders["KeySchema"]] == ["remindBucket", "remindTo"]
    assert reminders["Projection"]["ProjectionType"] == "INCLUDE"
    # Idempotency records expire by themselves; enabling TTL twice is refused, so it is read first.
    ttl = dynamodb.describe_time_to_live(TableName="taskapp-cli-test")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


# What a user sees: `flask --app wsgi ...` in a shell, with only the settings a test gives it.


def flask(*args, **settings):
    """`flask --app wsgi ARGS` in its own process, in an environment with no AWS settings,
    credentials or table but ``settings``."""
    kept = ("AWS_", "DYNAMODB_", "FLASK_", "TABLE_NAME")
    env = {name: value for name, value in os.environ.items() if not name.startswith(kept)}
    # Nowhere else to find credentials: no ~/.aws files, no instance metadata service.
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        **settings,
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_sentence(result):
    """The command failed, and all it said is one line of error."""
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.removeprefix("Error: ").strip()


NO_TABLE_NAME = "TABLE_NAME is not set: it must name the stage's DynamoDB table"


def test_without_table_name_the_help_lists_the_commands():
    result = flask("--help")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for command in ("create-table", "migrate-table", "dev-token", "run"):
        assert f"\n  {command} " in result.stdout


@pytest.mark.parametrize(
    "args",
    [["create-table"], ["migrate-table", "--from", "old", "--to", "new"], ["dev-token", "al"]],
)
def test_without_table_name_a_command_says_so_in_one_sentence(args):
    assert one_sentence(flask(*args)).startswith(NO_TABLE_NAME)


def test_without_table_name_flask_run_refuses_to_start():
    assert one_sentence(flask("run", "--port", str(free_port()))).startswith(NO_TABLE_NAME)


def test_without_table_name_the_lambda_entry_fails_at_import():
    """Zappa's handler imports app_function's module, "wsgi": a bad stage fails loudly there."""
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env={name: value for name, value in os.environ.items() if name != "TABLE_NAME"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert f"taskapp.config.ConfigError: {NO_TABLE_NAME}" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["create-table"],
        ["create-table", "--wait", "60"],
        ["migrate-table", "--from", "old", "--to", "new"],
    ],
)
def test_without_credentials_a_command_says_what_to_set(args):
    """The README's route before it sets credentials; --wait does not wait for them."""
    closed = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    sentence = one_sentence(flask(*args, TABLE_NAME="taskapp-local", DYNAMODB_ENDPOINT=closed))

    assert sentence.startswith("No AWS credentials were found: set AWS_ACCESS_KEY_ID")
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "args", [["create-table"], ["migrate-table", "--from", "old", "--to", "new"]]
)
def test_an_unreachable_dynamodb_is_one_sentence(args):
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(TestConfig("taskapp-cli-test", closed))

    result = app.test_cli_runner().invoke(args=args)

    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith(f"Error: DynamoDB at {closed} did not answer")


def test_create_table_waits_for_a_dynamodb_that_is_starting():
    database = DynamoDBLocal()
    app = create_app(TestConfig("taskapp-cli-wait", database.endpoint))
    starter = threading.Timer(2, database.start)
    starter.start()
    try:
        result = app.test_cli_runner().invoke(args=["create-table", "--wait", "120"])
    finally:
        starter.join()
        database.stop()

    assert result.exit_code == 0, result.output
    # A try that timed out on the starting engine may have made the table already.
    assert result.output in (
        "Created table taskapp-cli-wait.\n",
        "Table taskapp-cli-wait already exists, with this release's indexes.\n",
    )


@pytest.fixture
def token_app(tmp_path):
    config = TestConfig()
    config.AUTH_DEV_KEY = str(tmp_path / "dev-key.pem")
    return create_app(config)


@pytest.mark.parametrize(
    "args",
    [
        [""],
        [" "],
        ["alice smith"],
        ["al\nice"],
        ["a" * 129],
        ["alice", "--hours", "-5"],
        ["alice", "--hours", "0"],
        ["alice", "--hours", "721"],
    ],
)
def test_dev_token_refuses_a_token_that_could_never_work(token_app, args):
    result = token_app.test_cli_runner().invoke(args=["dev-token", *args])

    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output


@pytest.mark.parametrize("user", ["alice", "alice@example.com", "3f2c-11ee.b_9+x"])
def test_dev_token_names_its_user_for_the_hours_asked(token_app, user):
    result = token_app.test_cli_runner().invoke(args=["dev-token", user, "--hours", "1"])

    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), options={"verify_signature": False})
    assert claims["sub"] == user
    assert claims["exp"] - claims["iat"] == 3600
