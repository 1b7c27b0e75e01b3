"""The app behind API Gateway: Zappa's Lambda handler fed real REST proxy events (on moto)."""

import json
import os
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from moto import mock_aws
from zappa.handler import LambdaHandler

from taskapp import models, store
from taskapp.models import reminder_bucket
from taskapp.store.reminders import save_cursor
from tests.events import LambdaContext, body_of, rest_event

ROOT = Path(__file__).resolve().parent.parent


def stage_settings(stage):
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    return settings[settings[stage]["extends"]] | settings[stage]


def zappa_stage_settings(stage):
    """The settings module `zappa package` writes into the zip, built from zappa_settings.json."""
    merged = stage_settings(stage)
    app_module, app_function = merged["app_function"].rsplit(".", 1)
    module = types.ModuleType(f"taskapp_zappa_settings_{stage}")
    module.__dict__.update(
        APP_MODULE=app_module,
        APP_FUNCTION=app_function,
        EXCEPTION_HANDLER=None,
        DEBUG=merged["debug"],
        LOG_LEVEL=merged["log_level"],
        BINARY_SUPPORT=merged["binary_support"],
        CONTEXT_HEADER_MAPPINGS={},
        DOMAIN=None,
        BASE_PATH=None,
        ENVIRONMENT_VARIABLES={},
        API_STAGE=stage,
        PROJECT_NAME=merged["project_name"],
        SETTINGS_FILE=None,
        DJANGO_SETTINGS=None,
        AWS_EVENT_MAPPING={},
        AWS_BOT_EVENT_MAPPING={},
        COGNITO_TRIGGER_MAPPING={},
        ASYNC_RESPONSE_TABLE="",
        ADDITIONAL_TEXT_MIMETYPES=[],
    )
    sys.modules[module.__name__] = module
    return module.__name__


@pytest.fixture
def invoke():
    """Call the dev stage's Lambda as API Gateway does; returns the proxy response."""
    # Lambda sets the stage's aws_environment_variables in the process environment.
    with mock_aws(), patch.dict(os.environ, stage_settings("dev")["aws_environment_variables"]):
        # Zappa's handler is a per-process singleton, as in a Lambda container.
        handler = LambdaHandler(zappa_stage_settings("dev"))
        app = sys.modules["wsgi"].app
        models.configure(app.config)  # other tests may have pointed the model elsewhere
        with app.app_context():
            store.ensure_table()

        def call(method, path, **kwargs):
            return handler.handler(rest_event(method, path, **kwargs), LambdaContext())

        call.handler = lambda event: handler.handler(event, LambdaContext())
        yield call


def test_create_answers_201_with_a_stage_prefixed_location(invoke):
    response = invoke("POST", "/tasks", body={"title": "From API Gateway"})

    assert response["statusCode"] == 201
    task = body_of(response)["task"]
    headers = response["multiValueHeaders"]
    assert headers["Location"] == [f"/dev/tasks/{task['taskId']}"]
    assert headers["ETag"] == ['"1"']
    assert headers["Content-Type"] == ["application/json"]
    assert headers["Access-Control-Allow-Origin"] == ["*"]
    assert not response.get("isBase64Encoded")


def test_every_endpoint_through_the_handler(invoke):
    task = body_of(invoke("POST", "/tasks", body={"title": "Round trip"}))["task"]
    path = f"/tasks/{task['taskId']}"

    listed = invoke("GET", "/tasks", query="limit=10&status=pending")
    assert body_of(listed)["tasks"] == [task]

    read = invoke("GET", path)
    assert body_of(read) == {"task": task}
    unchanged = invoke("GET", path, headers={"If-None-Match": '"1"'})
    assert unchanged["statusCode"] == 304 and body_of(unchanged) is None

    put = invoke("PUT", path, body={"title": "Renamed"}, headers={"If-Match": '"1"'})
    assert body_of(put)["task"]["title"] == "Renamed"
    stale = invoke("PATCH", path, body={"status": "completed"}, headers={"If-Match": '"1"'})
    assert stale["statusCode"] == 412
    patched = invoke("PATCH", path, body={"status": "completed"}, headers={"If-Match": '"2"'})
    assert body_of(patched)["task"]["completedAt"] is not None

    deleted = invoke("DELETE", path)
    assert body_of(deleted) == {"message": "Task deleted successfully", "taskId": task["taskId"]}
    assert invoke("GET", path)["statusCode"] == 404


def test_views_and_the_change_feed_through_the_handler(invoke):
    due = {"title": "Milk", "dueDate": "2030-01-31T17:00:00+01:00", "tags": ["errands"]}
    task = body_of(invoke("POST", "/tasks", body=due))["task"]
    invoke("POST", "/tasks", body={"title": "Undated"})

    # An offset's "+" arrives percent-encoded in the query, as browsers and curl send it.
    today = "dueAfter=2030-01-31T00:00:00%2B01:00&dueBefore=2030-02-01T00:00:00%2B01:00"
    assert body_of(invoke("GET", "/tasks", query=today))["tasks"] == [task]
    assert body_of(invoke("GET", "/tasks", query="q=MILK&tag=errands"))["tasks"] == [task]
    bad = invoke("GET", "/tasks", query="dueBefore=2030-01-31")
    assert bad["statusCode"] == 400 and list(body_of(bad)["details"]) == ["dueBefore"]

    first = body_of(invoke("GET", "/tasks/changes", query="limit=500"))
    assert {t["taskId"] for t in first["tasks"]} >= {task["taskId"]}
    invoke("DELETE", f"/tasks/{task['taskId']}")
    since = body_of(invoke("GET", "/tasks/changes", query=f"since={first['syncToken']}"))
    assert task["taskId"] in [entry["taskId"] for entry in since["deleted"]]
    assert task["taskId"] not in [t["taskId"] for t in since["tasks"]]


def test_base64_encoded_body_is_read_and_json_is_answered_as_text(invoke):
    # With binary support on, API Gateway hands every body over base64-encoded.
    response = invoke("POST", "/tasks", body='{"title": "Encoded"}', base64_body=True)

    assert response["statusCode"] == 201
    assert not response.get("isBase64Encoded")
    assert json.loads(response["body"])["task"]["title"] == "Encoded"


def test_preflight_needs_no_credentials(invoke):
    response = invoke(
        "OPTIONS",
        "/tasks",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Idempotency-Key",
        },
    )

    assert response["statusCode"] in (200, 204)
    headers = response["multiValueHeaders"]
    assert headers["Access-Control-Allow-Origin"] == ["*"]
    assert "POST" in headers["Access-Control-Allow-Methods"][0]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nowhere", {}, 404),
        ("GET", "/tasks/not-a-task", {}, 404),
        ("DELETE", "/tasks", {}, 405),
        ("POST", "/tasks", {"body": "not json"}, 400),
        ("POST", "/tasks", {"body": {"title": ""}}, 400),
        ("GET", "/tasks", {"query": "limit=0"}, 400),
        ("POST", "/tasks", {"body": {"title": "x" * 70_000}}, 413),
    ],
)
def test_errors_are_json_behind_api_gateway(invoke, method, path, kwargs, status):
    response = invoke(method, path, **kwargs)

    assert response["statusCode"] == status
    assert set(body_of(response)) <= {"error", "details"}
    assert response["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["*"]
    if status == 405:
        assert "GET" in response["multiValueHeaders"]["Allow"][0]


def test_an_unexpected_error_hides_its_trace_and_names_the_lambda_request(invoke, monkeypatch):
    monkeypatch.setattr("taskapp.store.list_tasks", lambda *a, **k: 1 / 0)
    event = rest_event("GET", "/tasks")

    response = invoke.handler(event)

    assert response["statusCode"] == 500
    body = body_of(response)
    assert body["error"] == "Internal server error"
    assert "ZeroDivisionError" not in response["body"]
    # The request id is API Gateway's, the one its logs and a client's report show.
    assert body["requestId"] == event["requestContext"]["requestId"]
    assert response["multiValueHeaders"]["X-Request-Id"] == [body["requestId"]]


def test_the_schedule_sends_reminders_through_the_handler(invoke):
    """EventBridge's event for the stage's rule reaches wsgi.send_reminders (moto's SES)."""
    import boto3

    app = sys.modules["wsgi"].app
    address = "alice@example.com"
    token = app.test_cli_runner().invoke(args=["dev-token", "alice", "--email", address]).output
    sender = stage_settings("dev")["aws_environment_variables"]["REMINDER_SENDER"]
    boto3.client("sesv2").create_email_identity(EmailIdentity=sender)
    moment = datetime.now(UTC) - timedelta(seconds=5)
    due = {"title": "Pay rent", "reminderEnabled": True, "dueDate": moment.isoformat()}
    with app.app_context():
        # As though the schedule ran minutes ago (a first run reads the whole catch-up window).
        save_cursor(reminder_bucket(moment - timedelta(minutes=5)), moment)
    headers = {"Authorization": f"Bearer {token.strip()}"}
    assert invoke("POST", "/tasks", body=due, headers=headers)["statusCode"] == 201
    rule = "arn:aws:events:us-east-1:123456789012:rule/taskapp-dev-wsgi.send_reminders"
    event = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-25T18:00:00Z",
        "region": "us-east-1",
        "resources": [rule],
        "detail": {},
    }

    handler = LambdaHandler(zappa_stage_settings("dev"))
    handler.handler(event, LambdaContext())
    handler.handler(event, LambdaContext())

    assert boto3.client("ses").get_send_quota()["SentLast24Hours"] == 1


def test_health_through_the_handler(invoke):
    response = invoke("GET", "/health")

    assert response["statusCode"] == 200
    assert body_of(response)["dynamodb"] == "ok"
