"""A store that cannot work as configured is a 500 with a request id and a logged sentence that
says what to set, never a 503 that invites retries."""

import json
import uuid
from unittest.mock import patch

import botocore.session
import pytest
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from taskapp import create_app, store
from taskapp.config import TestConfig
from tests.conftest import make_app

TASK = "/tasks/01890a5d-ac96-774b-bcce-b302099a8057"
CALLS = {
    "list": lambda client: client.get("/tasks"),
    "create": lambda client: client.post("/tasks", json={"title": "lost?"}),
    "read": lambda client: client.get(TASK),
    "update": lambda client: client.patch(TASK, json={"title": "x"}),
    "delete": lambda client: client.delete(TASK),
    "changes": lambda client: client.get("/tasks/changes"),
}


def assert_misconfigured(response, log_lines, says):
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    body = response.get_json()
    assert body["error"] == "Internal server error"
    (logged,) = [json.loads(line) for line in log_lines if "misconfigured" in line]
    assert logged["requestId"] == body["requestId"]
    assert says in logged["message"]
    assert logged["cause"]


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """An environment where botocore finds no credentials anywhere."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # A session of its own: the suite's shared one has found the fake credentials already.
    with patch("pynamodb.connection.base.get_session", botocore.session.Session):
        yield


@pytest.mark.parametrize("call", CALLS)
def test_no_credentials_is_a_500_that_names_the_settings(
    call, dynamodb_local, no_credentials, log_lines
):
    client = create_app(TestConfig(endpoint=dynamodb_local)).test_client()
    response = CALLS[call](client)

    assert_misconfigured(response, log_lines, "AWS_ACCESS_KEY_ID")


@pytest.mark.parametrize("call", CALLS)
def test_a_table_that_does_not_exist_is_a_500_that_names_it(call, dynamodb_local, log_lines):
    name = f"taskapp-missing-{uuid.uuid4().hex[:8]}"
    client = create_app(TestConfig(name, dynamodb_local)).test_client()

    response = CALLS[call](client)

    assert_misconfigured(response, log_lines, f"Table {name} does not exist at {dynamodb_local}")


@pytest.mark.parametrize("call", CALLS)
def test_refused_credentials_are_a_500_that_says_so(call, log_lines):
    with mock_aws():
        client = make_app(None).test_client()

        # From here on moto checks credentials against its IAM, where "testing" is no one's key.
        @set_initial_no_auth_action_count(0)
        def refused():
            return CALLS[call](client)

        response = refused()

    assert_misconfigured(response, log_lines, "refused the credentials")


def test_ensure_table_without_credentials_says_what_to_set(dynamodb_local, no_credentials):
    app = create_app(TestConfig(endpoint=dynamodb_local))
    with app.app_context(), pytest.raises(store.StoreMisconfigured, match="AWS_ACCESS_KEY_ID"):
        store.ensure_table()
