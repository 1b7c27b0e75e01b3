"""DynamoDB slow, gone or back: a quick, honest 503, and no task lost (DynamoDB Local on disk)."""

import time

import pytest

from taskapp import create_app
from taskapp.config import TestConfig
from tests.conftest import make_app
from tests.servers import SilentServer
from tools.dynamodb_local import DynamoDBLocal, free_port


def retry_budget(config):
    """The longest a request may wait on DynamoDB: every attempt times out, plus backoff."""
    attempts = config.DYNAMODB_MAX_RETRIES + 1
    per_attempt = config.DYNAMODB_CONNECT_TIMEOUT + config.DYNAMODB_READ_TIMEOUT
    return attempts * per_attempt + attempts  # botocore's standard backoff: under 1 s a retry


@pytest.mark.parametrize("request_", ["list", "create", "read", "update", "delete"])
def test_a_dynamodb_that_never_answers_is_a_bounded_503(request_):
    with SilentServer() as silent:
        config = TestConfig(endpoint=silent.endpoint)
        client = create_app(config).test_client()
        task = "/tasks/01890a5d-ac96-774b-bcce-b302099a8057"
        call = {
            "list": lambda: client.get("/tasks"),
            "create": lambda: client.post("/tasks", json={"title": "lost?"}),
            "read": lambda: client.get(task),
            "update": lambda: client.patch(task, json={"title": "x"}),
            "delete": lambda: client.delete(task),
        }[request_]

        started = time.monotonic()
        response = call()
        waited = time.monotonic() - started

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert waited < retry_budget(config)


def test_tasks_written_before_dynamodb_stops_are_there_after_it_restarts(tmp_path):
    port, data = free_port(), tmp_path / "data"
    with DynamoDBLocal(port, data):
        app = make_app(f"http://127.0.0.1:{port}")
        client = app.test_client()
        written = [
            client.post("/tasks", json={"title": f"t{i}"}).get_json()["task"] for i in range(10)
        ]

    # DynamoDB Local is down: every call is a 503, and nothing is half-written.
    for response in (
        client.get("/tasks"),
        client.post("/tasks", json={"title": "during the outage"}),
        client.patch(f"/tasks/{written[0]['taskId']}", json={"title": "changed?"}),
        client.delete(f"/tasks/{written[1]['taskId']}"),
    ):
        assert response.status_code == 503
        assert "Retry-After" in response.headers

    with DynamoDBLocal(port, data):
        listed = client.get("/tasks", query_string={"limit": 100}).get_json()["tasks"]

    assert listed == written[::-1]
