"""What one owner may store: a limit on live tasks kept in the write itself, and idempotency
records no larger than the task they answer."""

import json
import threading
import uuid

import pytest

from taskapp import store
from taskapp.models import IdempotencyRecord, Usage, idempotency_partition, usage_partition
from tests.conftest import drop_table, make_app
from tests.helpers import create, error_of

LIMIT = 3
FULL = "You have 3 tasks, the most one account may keep: delete some to add more"


@pytest.fixture
def app(backend):
    app = make_app(backend, TASKS_PER_OWNER=LIMIT)
    yield app
    drop_table(app)


def count(client):
    return client.get("/tasks").get_json()["count"]


def test_a_create_past_the_limit_is_a_403_that_writes_nothing(client):
    tasks = [create(client, title=f"t{i}") for i in range(LIMIT)]

    refused = client.post("/tasks", json={"title": "one too many"})

    assert refused.status_code == 403
    assert error_of(refused) == FULL
    assert count(client) == LIMIT
    feed = client.get("/tasks/changes").get_json()
    assert [task["title"] for task in feed["tasks"]] == [task["title"] for task in tasks]


def test_deleting_a_task_makes_room_for_one(client):
    tasks = [create(client, title=f"t{i}") for i in range(LIMIT)]
    assert client.delete(f"/tasks/{tasks[0]['taskId']}").status_code == 200

    assert client.post("/tasks", json={"title": "fits"}).status_code == 201
    assert client.post("/tasks", json={"title": "does not"}).status_code == 403


def test_failed_deletes_and_updates_do_not_change_the_count(client):
    tasks = [create(client, title=f"t{i}") for i in range(LIMIT)]
    missing = "01890a5d-ac96-774b-bcce-b302099a8057"
    first = tasks[0]["taskId"]

    assert client.delete(f"/tasks/{missing}").status_code == 404
    assert client.delete(f"/tasks/{first}", headers={"If-Match": '"7"'}).status_code == 412
    assert client.patch(f"/tasks/{first}", json={"status": "completed"}).status_code == 200
    assert client.delete(f"/tasks/{first}").status_code == 200
    assert client.delete(f"/tasks/{first}").status_code == 404  # a tombstone counts once

    assert client.post("/tasks", json={"title": "fits"}).status_code == 201
    assert client.post("/tasks", json={"title": "does not"}).status_code == 403


def test_the_limit_is_per_owner(app):
    def new(title):
        return {"title": title, "status": "pending", "priority": "medium", "tags": []}

    with app.app_context():
        for i in range(LIMIT):
            store.create_task("alice", new(f"a{i}"))
        store.create_task("bob", new("b"))
        with pytest.raises(store.TaskLimitReached):
            store.create_task("alice", new("full"))
        assert Usage.get(usage_partition("alice"), "tasks").live == LIMIT
        assert Usage.get(usage_partition("bob"), "tasks").live == 1


def test_a_keyed_create_past_the_limit_leaves_no_record_and_its_retry_replays(client):
    for i in range(LIMIT - 1):
        create(client, title=f"t{i}")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/tasks", json={"title": "last one"}, headers=key)
    refused_key = {"Idempotency-Key": str(uuid.uuid4())}

    refused = client.post("/tasks", json={"title": "too many"}, headers=refused_key)
    replay = client.post("/tasks", json={"title": "last one"}, headers=key)

    assert first.status_code == 201 and refused.status_code == 403
    # A full account still answers the retry of a create that succeeded.
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["task"] == first.get_json()["task"]
    # The refused key was not spent: after a delete, the same request goes through.
    client.delete(f"/tasks/{first.get_json()['task']['taskId']}")
    assert client.post("/tasks", json={"title": "too many"}, headers=refused_key).status_code == 201


def test_racing_creates_never_pass_the_limit(dynamodb_local):
    app = make_app(dynamodb_local, TASKS_PER_OWNER=10)
    try:
        statuses = []

        def create_some():
            client = app.test_client()
            for i in range(4):
                statuses.append(client.post("/tasks", json={"title": f"race {i}"}).status_code)

        threads = [threading.Thread(target=create_some) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert statuses.count(201) == 10
        assert set(statuses) <= {201, 403, 503}
        assert count(app.test_client()) == 10
        with app.app_context():
            assert Usage.get(usage_partition(app.config["LOCAL_OWNER"]), "tasks").live == 10
    finally:
        drop_table(app)


def test_an_idempotency_record_stores_the_task_compactly(client, app):
    description = "é" * 500 + "🙂" * 250 + "\n\t\"'<>" * 10
    key = str(uuid.uuid4())
    created = client.post(
        "/tasks",
        json={"title": "Ünïcödé", "description": description, "tags": ["ü", "日本"]},
        headers={"Idempotency-Key": key},
    )
    assert created.status_code == 201

    with app.app_context():
        record = IdempotencyRecord.get(idempotency_partition(app.config["LOCAL_OWNER"]), key)
    stored = record.task.encode()
    task = created.get_json()["task"]

    assert "\\u" not in record.task
    # The task's own bytes plus its attribute names and type tags, and no index keys.
    assert len(stored) < len(json.dumps(task, ensure_ascii=False).encode()) + 300
    assert "statusKey" not in json.loads(record.task)
    replay = client.post(
        "/tasks",
        json={"title": "Ünïcödé", "description": description, "tags": ["ü", "日本"]},
        headers={"Idempotency-Key": key},
    )
    assert replay.get_json()["task"] == task
