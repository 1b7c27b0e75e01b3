"""GET /health: the stage's liveness, its table's, and the release it runs."""

import json
import subprocess

from taskapp import create_app
from taskapp.config import TestConfig
from tools.dynamodb_local import free_port


def test_health_answers_200_with_the_release_and_the_table(client, meter):
    response = client.get("/health")

    assert response.status_code == 200
    body = response.get_json()
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    assert body == {"status": "ok", "version": commit, "dynamodb": "ok"}
    # One eventually consistent GetItem: the cheapest read there is.
    assert meter.operations == ["GetItem"]
    assert meter.requests[0].params["ConsistentRead"] is False


def test_health_is_a_503_when_the_table_does_not_answer(log_lines):
    app = create_app(TestConfig(endpoint=f"http://127.0.0.1:{free_port()}"))

    response = app.test_client().get("/health")

    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["dynamodb"]) == ("unavailable", "unavailable")
    assert body["error"] == "The table did not answer"
    logged = json.loads(log_lines[0].splitlines()[0])
    assert logged["message"].startswith("Health check failed")
    assert logged["requestId"] == response.headers["X-Request-Id"]


def test_health_needs_no_credentials_and_is_documented(backend):
    from tests.conftest import make_app

    app = make_app(
        backend, AUTH_MODE="jwt", AUTH_JWKS_URL="/none", AUTH_ISSUER="i", AUTH_AUDIENCE="a"
    )
    client = app.test_client()

    assert client.get("/health").status_code == 200
    assert client.get("/tasks").status_code == 401
    operation = client.get("/openapi.json").get_json()["paths"]["/health"]["get"]
    assert operation["security"] == []
    assert set(operation["responses"]) >= {"200", "503"}


def test_a_packaged_release_names_its_commit(client, tmp_path, monkeypatch):
    from taskapp import health

    release = tmp_path / "RELEASE"
    release.write_text("abc1234\n")
    monkeypatch.setattr(health, "RELEASE_FILE", release)
    health.release.cache_clear()
    try:
        assert client.get("/health").get_json()["version"] == "abc1234"
    finally:
        health.release.cache_clear()
