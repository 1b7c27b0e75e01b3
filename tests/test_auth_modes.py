"""AUTH_MODE none (with the local development key), cognito, and what each stage may run."""

import pytest
from werkzeug.wrappers import Response
from zappa.wsgi import create_wsgi_request

from taskapp import create_app
from taskapp.config import Config, ConfigError, TestConfig
from tests.conftest import drop_table, make_app
from tests.events import body_of, rest_event
from tests.tokens import Keys


@pytest.fixture
def dev_key(tmp_path):
    return tmp_path / "dev-keys" / "dev-key.pem"


@pytest.fixture
def local_app(backend, dev_key):
    app = make_app(backend, AUTH_DEV_KEY=str(dev_key))
    yield app
    drop_table(app)


def mint(app, user):
    result = app.test_cli_runner().invoke(args=["dev-token", user])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_without_a_token_everything_belongs_to_the_local_owner(local_app):
    client = local_app.test_client()
    client.post("/tasks", json={"title": "local"})

    assert client.get("/tasks").get_json()["count"] == 1


def test_dev_tokens_name_separate_owners_locally(local_app, dev_key):
    alice, bob = mint(local_app, "alice"), mint(local_app, "bob")
    client = local_app.test_client()

    def as_(token):
        return {"Authorization": f"Bearer {token}"}

    task = client.post("/tasks", json={"title": "Alice's"}, headers=as_(alice)).get_json()["task"]

    assert dev_key.exists() and oct(dev_key.stat().st_mode)[-3:] == "600"
    assert client.get("/tasks", headers=as_(alice)).get_json()["count"] == 1
    assert client.get("/tasks", headers=as_(bob)).get_json()["count"] == 0
    assert client.get("/tasks").get_json()["count"] == 0  # the local owner is someone else again
    assert client.get(f"/tasks/{task['taskId']}", headers=as_(bob)).status_code == 404


def test_a_token_the_dev_key_did_not_sign_is_a_401_locally(local_app):
    mint(local_app, "alice")  # the development key exists
    foreign = Keys().token("alice")

    response = local_app.test_client().get("/tasks", headers={"Authorization": f"Bearer {foreign}"})

    assert response.status_code == 401


def test_a_token_without_any_dev_key_is_a_401(local_app):
    token = Keys().token("alice")

    response = local_app.test_client().get("/tasks", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert "dev-token" in response.get_json()["error"]


def test_dev_tokens_are_refused_where_auth_is_on(moto_app, dev_key, tmp_path):
    moto_app.config["AUTH_DEV_KEY"] = str(dev_key)
    token = mint(moto_app, "alice")
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    config = TestConfig(moto_app.config["TABLE_NAME"])
    config.AUTH_MODE, config.AUTH_JWKS_URL = "jwt", str(jwks)
    config.AUTH_ISSUER, config.AUTH_AUDIENCE = "taskapp-local-dev", "taskapp-local-dev"
    config.AUTH_DEV_KEY = str(dev_key)
    jwt_app = create_app(config)

    response = jwt_app.test_client().get("/tasks", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    refused = jwt_app.test_cli_runner().invoke(args=["dev-token", "alice"])
    assert refused.exit_code != 0 and "Only AUTH_MODE=none" in refused.output


@pytest.fixture
def cognito_app(moto_app):
    config = TestConfig(moto_app.config["TABLE_NAME"])
    config.AUTH_MODE = "cognito"
    return create_app(config)


def call_through_api_gateway(app, event):
    """Zappa's own translation of an API Gateway event into the WSGI environ."""
    environ = create_wsgi_request(event, script_name="/dev", binary_support=True)
    with Response.from_app(app, environ) as response:
        return {"statusCode": response.status_code, "body": response.get_data(as_text=True)}


def cognito_event(method, path, sub=None, **kwargs):
    event = rest_event(method, path, **kwargs)
    if sub:
        event["requestContext"]["authorizer"] = {
            "claims": {"sub": sub, "cognito:username": sub, "token_use": "id"}
        }
    return event


def test_cognito_authorizer_claims_name_the_owner(cognito_app):
    created = call_through_api_gateway(
        cognito_app,
        cognito_event("POST", "/tasks", sub="c0ffee-alice", body={"title": "Via Cognito"}),
    )
    mine = call_through_api_gateway(cognito_app, cognito_event("GET", "/tasks", sub="c0ffee-alice"))
    theirs = call_through_api_gateway(cognito_app, cognito_event("GET", "/tasks", sub="c0ffee-bob"))

    assert created["statusCode"] == 201
    assert body_of(mine)["count"] == 1
    assert body_of(theirs)["count"] == 0


def test_without_authorizer_claims_cognito_mode_is_a_401(cognito_app):
    response = call_through_api_gateway(cognito_app, cognito_event("GET", "/tasks"))

    assert response["statusCode"] == 401


def test_a_deployed_stage_refuses_auth_none_unless_allowed(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "taskapp-dev")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "taskapp-dev")
    monkeypatch.setenv("AUTH_MODE", "none")

    with pytest.raises(ConfigError, match="AUTH_ALLOW_NONE"):
        create_app()
    monkeypatch.setenv("AUTH_ALLOW_NONE", "true")
    assert create_app().config["AUTH_MODE"] == "none"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"AUTH_MODE": "magic"}, "AUTH_MODE must be one of"),
        ({"AUTH_MODE": "jwt"}, "AUTH_JWKS_URL is not set"),
        (
            {"AUTH_MODE": "jwt", "AUTH_JWKS_URL": "http://keys.test/jwks.json", "AUTH_ISSUER": "i"}
            | {"AUTH_AUDIENCE": "a"},
            "https URL",
        ),
        (
            {"AUTH_MODE": "jwt", "AUTH_JWKS_URL": "https://k.test/jwks", "AUTH_ISSUER": "i"},
            "AUDIENCE",
        ),
    ],
)
def test_auth_settings_are_checked_at_start(monkeypatch, settings, message):
    monkeypatch.setenv("TABLE_NAME", "taskapp-dev")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=message):
        Config().validate()
