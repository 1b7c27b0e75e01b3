"""`make run` for real: DynamoDB Local, `flask create-table` and `flask run` over HTTP."""

import uuid

import boto3
import pytest

from tests.servers import LocalRun as Server
from tests.servers import call
from tools.dynamodb_local import port_is_open


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
