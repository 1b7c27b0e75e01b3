"""What every response shares: JSON errors, CORS, the OpenAPI document, 500s and 503s."""

import json

import pytest
from botocore.awsrequest import AWSResponse

from taskapp import create_app
from taskapp.config import TestConfig
from taskapp.models import Task
from tests.helpers import create, error_of
from tools.dynamodb_local import free_port

TASK = "/tasks/01890a5d-ac96-774b-bcce-b302099a8057"


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert response.get_json() == {"error": "Resource not found"}


@pytest.mark.parametrize(("method", "path"), [("delete", "/tasks"), ("post", TASK)])
def test_wrong_method_is_a_json_405_with_allow(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert response.get_json() == {"error": "Method not allowed"}
    assert "GET" in response.headers["Allow"]


def test_every_response_allows_any_origin_by_default(client):
    created = client.post("/tasks", json={"title": "cors"}, headers={"Origin": "https://a.test"})
    missing = client.get(TASK, headers={"Origin": "https://a.test"})
    invalid = client.post("/tasks", json={}, headers={"Origin": "https://a.test"})
    no_origin = client.get("/tasks")

    for response in (created, missing, invalid, no_origin):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {name.strip() for name in created.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= {"ETag", "Location", "Idempotent-Replayed", "Retry-After"}


def test_preflight_allows_the_methods_and_headers_of_the_api(client):
    response = client.options(
        TASK,
        headers={
            "Origin": "https://app.test",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type, if-match, idempotency-key, x-api-key",
        },
    )

    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    methods = response.headers["Access-Control-Allow-Methods"]
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        assert method in methods
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in ("content-type", "if-match", "idempotency-key", "x-api-key"):
        assert header in allowed


def test_a_stage_can_name_its_allowed_origins(moto_app):
    config = TestConfig(moto_app.config["TABLE_NAME"])
    config.CORS_ORIGINS = ["https://app.example.com"]
    client = create_app(config).test_client()

    allowed = client.get("/tasks", headers={"Origin": "https://app.example.com"})
    refused = client.get("/tasks", headers={"Origin": "https://evil.example.com"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_openapi_document_is_served(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/tasks", "/tasks/changes", "/tasks/{task_id}", "/health"}
    assert set(spec["paths"]["/tasks/{task_id}"]) >= {"get", "put", "patch", "delete"}
    assert "400" in spec["paths"]["/tasks"]["post"]["responses"]


def test_unexpected_error_is_a_500_without_its_text(client, monkeypatch, log_lines):
    def explode(*args, **kwargs):
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr("taskapp.store.get_task", explode)

    response = client.get(TASK)

    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "Internal server error"
    assert set(body) == {"error", "requestId"}
    assert b"secret" not in response.data and b"Traceback" not in response.data
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    error_line, request_line = log_lines
    assert json.loads(error_line.splitlines()[0])["requestId"] == body["requestId"]
    assert "RuntimeError: secret detail from deep inside" in error_line
    assert json.loads(request_line)["status"] == 500


def test_unreachable_dynamodb_is_a_503_with_retry_after():
    config = TestConfig(endpoint=f"http://127.0.0.1:{free_port()}")
    client = create_app(config).test_client()

    for response in (client.get("/tasks"), client.post("/tasks", json={"title": "lost?"})):
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert "Retry" in error_of(response)


def test_throttled_dynamodb_is_a_503(moto_client):
    """DynamoDB Local never throttles, so the throttling answer is played back to botocore."""

    def throttle(**_):
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        return AWSResponse("https://dynamodb", 400, {}, None), error

    events = Task._get_connection().connection.client.meta.events
    events.register_first("before-call.dynamodb.TransactWriteItems", throttle, unique_id="throttle")
    try:
        response = moto_client.post("/tasks", json={"title": "throttled"})
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="throttle")

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert moto_client.get("/tasks").get_json()["count"] == 0


def test_created_task_location_can_be_followed(client):
    response = client.post("/tasks", json={"title": "follow me"})

    assert client.get(response.headers["Location"]).get_json()["task"]["title"] == "follow me"


def test_responses_are_json(client):
    task = create(client)
    for response in (
        client.get("/tasks"),
        client.get(f"/tasks/{task['taskId']}"),
        client.patch(f"/tasks/{task['taskId']}", json={"title": "x"}),
        client.delete(f"/tasks/{task['taskId']}"),
    ):
        assert response.content_type == "application/json"


def test_the_root_names_the_api_and_links_its_documentation(client):
    response = client.get("/")

    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "taskapp" and body["version"] == "1.0"
    for link, kind in (
        ("docs", "text/html"),
        ("openapi", "application/json"),
        ("app", "text/html"),
    ):
        with client.get(body[link]) as followed:
            assert followed.status_code == 200, link
            assert followed.content_type.startswith(kind)
    assert client.get("/openapi.json").get_json()["info"]["version"] == body["version"]
