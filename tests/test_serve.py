"""`make run` for real: DynamoDB Local, `flask create-table` and the server over HTTP, and how
it stops: on a signal, cleanly; when its DynamoDB Local dies, at once, with a sentence."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from tests.servers import LocalRun as Server
from tests.servers import call
from tools.dynamodb_local import ROOT, port_is_open


def test_tasks_survive_a_restart(tmp_path):
    with Server(tmp_path) as server:
        status, body = call(server.base, "POST", "/tasks", {"title": "Persist me"})
        assert status == 201
        task = body["task"]
        database_port = int(server.env["DYNAMODB_LOCAL_PORT"])
        assert port_is_open(database_port)
    assert not port_is_open(database_port), "DynamoDB Local outlived the server"

    with Server(tmp_path) as server:
        status, body = call(server.base, "GET", f"/tasks/{task['taskId']}")
        assert status == 200
        assert body["task"] == task
        status, body = call(server.base, "GET", "/tasks")
        assert body["tasks"] == [task]


def test_a_named_endpoint_is_used_instead_of_a_new_database(tmp_path, dynamodb_local):
    table = f"taskapp-serve-{uuid.uuid4().hex[:8]}"

    with Server(tmp_path, DYNAMODB_ENDPOINT=dynamodb_local, TABLE_NAME=table) as server:
        status, _ = call(server.base, "POST", "/tasks", {"title": "There"})
        assert status == 201
        assert not port_is_open(int(server.env["DYNAMODB_LOCAL_PORT"]))

    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_local, region_name="us-east-1")
    assert table in dynamodb.list_tables()["TableNames"]
    items = dynamodb.scan(TableName=table)["Items"]
    # Tasks only: the table also keeps each owner's count of live tasks.
    assert [item["title"]["S"] for item in items if "title" in item] == ["There"]
    dynamodb.delete_table(TableName=table)


@pytest.mark.parametrize("path", ["/nowhere", "/tasks/not-a-task"])
def test_errors_over_http_are_json(tmp_path, dynamodb_local, path):
    with Server(tmp_path, DYNAMODB_ENDPOINT=dynamodb_local, TABLE_NAME="taskapp-http") as server:
        status, body = call(server.base, "GET", path)

    assert status == 404
    assert "error" in body


def test_an_earlier_releases_table_is_refused_then_migrated(tmp_path, dynamodb_local):
    """`make run` refuses a table with an earlier release's indexes; `make migrate` moves it."""
    from tests.test_migrate import create_old_table, old_items, put_items

    old, new = (f"taskapp-old-{uuid.uuid4().hex[:8]}", f"taskapp-new-{uuid.uuid4().hex[:8]}")
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_local, region_name="us-east-1")
    create_old_table(dynamodb, old)
    put_items(dynamodb, old, old_items())
    env = {**os.environ, "DYNAMODB_ENDPOINT": dynamodb_local, "TABLE_NAME": old}
    script = [sys.executable, str(ROOT / "tools" / "run_local.py")]

    refused = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    migrated = subprocess.run(
        [*script, "migrate", old, new], env=env, capture_output=True, text=True, timeout=120
    )

    assert refused.returncode != 0
    assert f"Table {old} lacks the indexes changes-index, due-index" in refused.stderr
    assert "migrate-table" in refused.stderr
    assert migrated.returncode == 0, migrated.stderr
    assert f"8 tasks and 2 idempotency records are in {new}" in migrated.stdout
    with Server(tmp_path, DYNAMODB_ENDPOINT=dynamodb_local, TABLE_NAME=new) as server:
        status, body = call(server.base, "GET", "/tasks?limit=100")
    assert status == 200 and body["count"] > 0
    for table in (old, new):
        dynamodb.delete_table(TableName=table)


def test_each_request_is_logged_once(tmp_path, dynamodb_local):
    table = f"taskapp-serve-{uuid.uuid4().hex[:8]}"

    with Server(tmp_path, DYNAMODB_ENDPOINT=dynamodb_local, TABLE_NAME=table) as server:
        for _ in range(3):
            status, _ = call(server.base, "GET", "/tasks")
            assert status == 200
    lines = Path(server.log.name).read_text().splitlines()

    assert sum('"requestId"' in line for line in lines) == 3
    assert not [line for line in lines if "HTTP/1.1" in line], "werkzeug's access line too"
    boto3.client("dynamodb", endpoint_url=dynamodb_local, region_name="us-east-1").delete_table(
        TableName=table
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_and_its_database_cleanly(tmp_path, stop):
    with Server(tmp_path) as server:
        database_port = int(server.env["DYNAMODB_LOCAL_PORT"])
        server.process.send_signal(stop)
        status = server.process.wait(timeout=30)

    assert status == 0, "make run would end in `make: *** Error`"
    assert not port_is_open(server.port)
    assert not port_is_open(database_port), "DynamoDB Local outlived the server"


def test_the_server_stops_with_a_sentence_when_its_database_dies(tmp_path):
    with Server(tmp_path) as server:
        status, _ = call(server.base, "GET", "/tasks")
        assert status == 200
        java = subprocess.run(
            ["pgrep", "-P", str(server.process.pid), "java"], capture_output=True, text=True
        ).stdout.split()
        assert len(java) == 1, "DynamoDB Local is run_local.py's one java child"
        log = Path(server.log.name)
        before = len(log.read_text().splitlines())

        os.kill(int(java[0]), signal.SIGKILL)
        status = server.process.wait(timeout=30)

    after = log.read_text().splitlines()[before:]
    assert status == 1
    assert not port_is_open(server.port)
    assert len(after) == 1 and after[0].startswith("DynamoDB Local stopped"), after
