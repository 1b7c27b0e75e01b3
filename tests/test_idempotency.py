"""Idempotency-Key on POST /tasks: a retry answers the first response and creates nothing."""

from datetime import timedelta

import pytest

from tests.conftest import drop_table, make_app


def post(client, body, key="retry-7f3a", **headers):
    return client.post("/tasks", json=body, headers={"Idempotency-Key": key, **headers})


def test_a_retry_answers_the_first_response_and_creates_nothing(client):
    first = post(client, {"title": "Pay rent", "tags": ["home"]})
    retry = post(client, {"title": "Pay rent", "tags": ["home"]})

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert client.get("/tasks").get_json()["count"] == 1


def test_the_same_body_written_differently_is_the_same_request(client):
    first = client.post(
        "/tasks", data=b'{"title": "Same", "priority": "high"}', headers={"Idempotency-Key": "k1"}
    )
    retry = client.post(
        "/tasks", data=b'{ "priority":"high","title":"Same" }', headers={"Idempotency-Key": "k1"}
    )

    assert retry.get_json() == first.get_json()


def test_the_same_key_with_another_body_is_a_422(client):
    post(client, {"title": "First"})

    response = post(client, {"title": "Second"})

    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["error"]
    assert [t["title"] for t in client.get("/tasks").get_json()["tasks"]] == ["First"]


def test_a_retry_answers_the_first_response_even_after_the_task_changed(client):
    first = post(client, {"title": "Original"})
    task_id = first.get_json()["task"]["taskId"]
    client.patch(f"/tasks/{task_id}", json={"title": "Edited"})

    retry = post(client, {"title": "Original"})

    assert retry.get_json() == first.get_json()
    assert client.get("/tasks").get_json()["count"] == 1


def test_different_keys_create_different_tasks(client):
    post(client, {"title": "Same"}, key="a")
    post(client, {"title": "Same"}, key="b")

    assert client.get("/tasks").get_json()["count"] == 2


def test_keys_expire_after_the_window(client, monkeypatch):
    monkeypatch.setattr("taskapp.store.tasks.IDEMPOTENCY_WINDOW", timedelta(seconds=-1))
    post(client, {"title": "Old"})

    retry = post(client, {"title": "Old"})

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert client.get("/tasks").get_json()["count"] == 2


@pytest.fixture
def local_app(backend, tmp_path):
    app = make_app(backend, AUTH_DEV_KEY=str(tmp_path / "dev-key.pem"))
    yield app
    drop_table(app)


def test_keys_belong_to_their_owner(local_app):
    runner = local_app.test_cli_runner()
    tokens = {user: runner.invoke(args=["dev-token", user]).output.strip() for user in ("a", "b")}
    client = local_app.test_client()

    for user, token in tokens.items():
        response = post(client, {"title": f"{user}'s"}, Authorization=f"Bearer {token}")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers
    for user, token in tokens.items():
        listed = client.get("/tasks", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert [t["title"] for t in listed["tasks"]] == [f"{user}'s"]


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "clé", "two words", "tab\there"])
def test_a_malformed_key_is_a_400(client, key):
    response = post(client, {"title": "x"}, key=key)

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["Idempotency-Key"]
    assert client.get("/tasks").get_json()["count"] == 0


def test_a_keyed_create_and_its_replay_are_one_request_each(client, meter):
    post(client, {"title": "Counted"})
    post(client, {"title": "Counted"})

    assert meter.operations == ["TransactWriteItems", "TransactWriteItems"]


def test_records_never_show_in_the_owners_list(client):
    for i in range(3):
        post(client, {"title": f"t{i}"}, key=f"key-{i}")

    listed = client.get("/tasks", query_string={"limit": 100}).get_json()

    assert listed["count"] == 3
    assert all(task["title"].startswith("t") for task in listed["tasks"])
