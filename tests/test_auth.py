"""SPEC.md section 7: bearer JWTs verified by the app, and owners who never see each other."""

import json
import time

import pytest
from werkzeug.wrappers import Response
from zappa.wsgi import create_wsgi_request

from tests.conftest import drop_table, make_app
from tests.events import function_url_event, rest_event
from tests.tokens import AUDIENCE, ISSUER, Keys, hmac_token_with_public_key, unsigned_token

TASK = "/tasks/01890a5d-ac96-774b-bcce-b302099a8057"


@pytest.fixture(scope="session")
def keys():
    return Keys()


@pytest.fixture
def jwks_file(keys, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keys.jwks("rsa-1", "ec-1")))
    return path


@pytest.fixture
def jwt_app(backend, jwks_file):
    app = make_app(
        backend,
        AUTH_MODE="jwt",
        AUTH_JWKS_URL=str(jwks_file),
        AUTH_ISSUER=ISSUER,
        AUTH_AUDIENCE=AUDIENCE,
    )
    yield app
    drop_table(app)


@pytest.fixture
def as_user(jwt_app, keys):
    """A test client per user: as_user("alice").get(...) sends alice's bearer token."""

    def client_for(sub, kid="rsa-1"):
        client = jwt_app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {keys.token(sub, kid)}"
        return client

    return client_for


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_a_valid_token_names_the_owner(as_user, kid):
    alice = as_user("alice", kid)

    created = alice.post("/tasks", json={"title": "Mine"})

    assert created.status_code == 201
    assert alice.get("/tasks").get_json()["count"] == 1
    assert as_user("bob").get("/tasks").get_json()["count"] == 0


def test_owners_never_see_each_others_tasks(as_user):
    alice, bob = as_user("alice"), as_user("bob")
    theirs = [alice.post("/tasks", json={"title": f"a{i}"}).get_json()["task"] for i in range(3)]
    mine = bob.post("/tasks", json={"title": "b"}).get_json()["task"]

    for task in theirs:
        path = f"/tasks/{task['taskId']}"
        for response in (
            bob.get(path),
            bob.put(path, json={"title": "stolen"}),
            bob.patch(path, json={"status": "completed"}),
            bob.put(path, json={"title": "stolen"}, headers={"If-Match": '"1"'}),
            bob.delete(path),
            bob.delete(path, headers={"If-Match": "*"}),
        ):
            assert response.status_code == 404
            assert response.get_json() == {"error": "Task not found"}
        assert alice.get(path).get_json()["task"] == task

    assert [t["taskId"] for t in bob.get("/tasks").get_json()["tasks"]] == [mine["taskId"]]
    # Alice's cursors, replayed by Bob, page through Bob's own tasks only.
    cursor = alice.get("/tasks?limit=1").get_json()["nextCursor"]
    seen = bob.get("/tasks", query_string={"cursor": cursor, "limit": 100}).get_json()["tasks"]
    assert {t["taskId"] for t in seen} <= {mine["taskId"]}
    for status in ("pending", "completed"):
        listed = bob.get("/tasks", query_string={"status": status}).get_json()["tasks"]
        assert not {t["taskId"] for t in listed} & {t["taskId"] for t in theirs}


def test_owners_never_see_each_others_tasks_through_filters_or_the_feed(as_user):
    alice, bob = as_user("alice"), as_user("bob")
    due = {"dueDate": "2030-01-01T10:00:00Z", "priority": "high", "category": "c", "tags": ["t"]}
    theirs = [alice.post("/tasks", json={"title": "milk", **due}).get_json()["task"]]
    theirs.append(alice.post("/tasks", json={"title": "gone", **due}).get_json()["task"])
    alice.delete(f"/tasks/{theirs[1]['taskId']}")
    mine = bob.post("/tasks", json={"title": "bob's", **due}).get_json()["task"]

    for query in (
        {"dueBefore": "2031-01-01T00:00:00Z"},
        {"dueAfter": "2000-01-01T00:00:00Z", "status": "pending"},
        {"q": "milk"},
        {"priority": "high", "category": "c", "tag": "t"},
    ):
        listed = bob.get("/tasks", query_string=query).get_json()["tasks"]
        assert {task["taskId"] for task in listed} <= {mine["taskId"]}, query

    feed = bob.get("/tasks/changes").get_json()
    assert [task["taskId"] for task in feed["tasks"]] == [mine["taskId"]]
    assert feed["deleted"] == []
    # Alice's sync token is refused to Bob: it never reads Alice's changes, nor Bob's from it.
    token = alice.get("/tasks/changes").get_json()["syncToken"]
    refused = bob.get("/tasks/changes", query_string={"since": token})
    assert refused.status_code == 400
    assert list(refused.get_json()["details"]) == ["since"]


@pytest.mark.parametrize("sub", ["idempotency#alice", "idem#alice", "task#alice", "alice#"])
def test_a_sub_that_looks_like_another_partition_owns_only_its_own(as_user, sub):
    """Partition keys name their kind: task#<sub> and idem#<sub>, whatever the sub holds."""
    alice, other = as_user("alice"), as_user(sub)
    key = {"Idempotency-Key": "k-1"}
    first = alice.post("/tasks", json={"title": "Alice's"}, headers=key).get_json()["task"]

    assert other.get("/tasks").get_json()["tasks"] == []
    assert other.get("/tasks/changes").get_json()["tasks"] == []
    assert other.get(f"/tasks/{first['taskId']}").status_code == 404
    assert other.delete(f"/tasks/{first['taskId']}").status_code == 404
    # The same key is the other caller's own: a new task, not a replay of Alice's.
    theirs = other.post("/tasks", json={"title": "Alice's"}, headers=key)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["task"]["taskId"] != first["taskId"]
    replay = alice.post("/tasks", json={"title": "Alice's"}, headers=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["task"] == first
    assert [task["taskId"] for task in alice.get("/tasks").get_json()["tasks"]] == [first["taskId"]]


def _bad_tokens(keys):
    now = int(time.time())
    return {
        "malformed": "not.a.jwt",
        "garbage": "x" * 500,
        "expired": keys.token(exp=now - 3600, iat=now - 7200),
        "wrongly signed": keys.token(key=keys.private["rsa-2"]),
        "wrong issuer": keys.token(iss="https://evil.test/pool"),
        "wrong audience": keys.token(aud="someone-else"),
        "no subject": keys.token(sub=None),
        "no expiry": keys.token(exp=None),
        "not yet valid": keys.token(nbf=now + 3600),
        "alg none": unsigned_token(),
        "HS256 with the public key": hmac_token_with_public_key(keys),
        "unknown key id": keys.token(kid="rsa-2"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "malformed",
        "garbage",
        "expired",
        "wrongly signed",
        "wrong issuer",
        "wrong audience",
        "no subject",
        "no expiry",
        "not yet valid",
        "alg none",
        "HS256 with the public key",
        "unknown key id",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_is_a_401(jwt_app, keys, case, method):
    token = _bad_tokens(keys)[case]
    client = jwt_app.test_client()

    response = getattr(client, method)(
        "/tasks", json={"title": "x"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert set(response.get_json()) == {"error"}
    assert token not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "header", [None, "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer   ", "Token abc"]
)
def test_missing_or_non_bearer_credentials_are_a_401(jwt_app, header):
    headers = {} if header is None else {"Authorization": header}

    response = jwt_app.test_client().get("/tasks", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="taskapp"')


def test_a_cognito_access_token_names_its_client_id(jwt_app, keys):
    token = keys.token(aud=None, client_id=AUDIENCE, token_use="access")

    response = jwt_app.test_client().get("/tasks", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def test_a_new_signing_key_is_fetched_when_a_token_names_it(jwt_app, keys, jwks_file):
    client = jwt_app.test_client()
    assert (
        client.get("/tasks", headers={"Authorization": f"Bearer {keys.token()}"}).status_code == 200
    )

    jwks_file.write_text(json.dumps(keys.jwks("rsa-1", "ec-1", "rsa-2")))  # the issuer rotates
    rotated = keys.token(kid="rsa-2")

    assert client.get("/tasks", headers={"Authorization": f"Bearer {rotated}"}).status_code == 200


def test_unreachable_keys_are_a_503(jwt_app, keys, jwks_file):
    jwks_file.unlink()

    response = jwt_app.test_client().get(
        "/tasks", headers={"Authorization": f"Bearer {keys.token()}"}
    )

    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_preflight_needs_no_credentials(jwt_app):
    response = jwt_app.test_client().options(
        "/tasks",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )

    assert response.status_code in (200, 204)
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_the_openapi_document_needs_no_credentials(jwt_app):
    assert jwt_app.test_client().get("/openapi.json").status_code == 200


def test_every_answer_is_hardened(jwt_app, as_user):
    anonymous = jwt_app.test_client()
    for response in (
        as_user("alice").get("/tasks"),
        anonymous.get("/tasks"),
        anonymous.get("/nowhere"),
        as_user("alice").post("/tasks", data=b"[]"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_tokens_never_reach_the_logs(as_user, keys, log_lines):
    good, bad = keys.token("alice"), keys.token(iss="https://evil.test/pool")
    client = as_user("alice")
    client.get("/tasks", headers={"Authorization": f"Bearer {good}"})
    client.get("/tasks", headers={"Authorization": f"Bearer {bad}"})

    assert len(log_lines) == 2
    for line in log_lines:
        assert good not in line and bad not in line and "Bearer" not in line


@pytest.mark.parametrize("front", ["api-gateway", "function-url"])
def test_bearer_tokens_work_behind_lambda_fronts(jwt_app, keys, front):
    """Zappa's translation of each kind of event, then the app, as in Lambda."""
    headers = {"Authorization": f"Bearer {keys.token('alice')}"}
    if front == "api-gateway":
        event = rest_event("POST", "/tasks", body={"title": "Far away"}, headers=headers)
    else:
        event = function_url_event("POST", "/tasks", body={"title": "Far away"}, headers=headers)
    environ = create_wsgi_request(event, script_name="", binary_support=True)

    with Response.from_app(jwt_app, environ) as response:
        assert response.status_code == 201
    listed = jwt_app.test_client().get("/tasks", headers=headers).get_json()
    assert [task["title"] for task in listed["tasks"]] == ["Far away"]
