"""`make run` for real: DynamoDB Local, `flask create-table` and `flask run` over HTTP."""

import os
import subprocess
import sys
import uuid

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
    assert dynamodb.scan(TableName=table)["Count"] == 1
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
