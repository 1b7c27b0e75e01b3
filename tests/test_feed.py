"""SPEC.md section 9: the change feed, from nothing and incrementally, under concurrent writers."""

import random
import threading
import time
from datetime import timedelta

import pytest
from flask import request
from moto import mock_aws

from taskapp.cursors import SyncToken
from taskapp.models import Task, format_timestamp, task_partition
from taskapp.store import SyncPosition
from taskapp.store import base as store_base
from taskapp.store.feed import owner_digest
from tests.conftest import drop_table, make_app
from tests.helpers import create, error_of
from tests.servers import AppServer, call


class Replica:
    """What a client keeps: tasks by taskId, brought up to date the way SPEC 9 says."""

    def __init__(self, get):
        self.get = get  # (path) -> (status, body)
        self.tasks = {}
        self.token = None
        self.calls = []

    def sync(self, limit=100):
        """Follow syncTokens until hasMore is false; returns the answers of this sync."""
        answers = []
        while True:
            query = f"?limit={limit}" + (f"&since={self.token}" if self.token else "")
            self.last_call_began = time.monotonic()
            status, body = self.get(f"/tasks/changes{query}")
            assert status == 200, body
            assert len(body["tasks"]) + len(body["deleted"]) <= limit
            for task in body["tasks"]:
                held = self.tasks.get(task["taskId"])
                if held is None or held["version"] <= task["version"]:
                    self.tasks[task["taskId"]] = task
            for tombstone in body["deleted"]:
                self.tasks.pop(tombstone["taskId"], None)
            self.token = body["syncToken"]
            answers.append(body)
            if not body["hasMore"]:
                self.calls.append(answers)
                return answers


def client_get(client):
    def get(path):
        response = client.get(path)
        return response.status_code, response.get_json()

    return get


def server_tasks(get):
    """Every live task, through GET /tasks."""
    tasks, cursor = {}, None
    while True:
        status, body = get("/tasks?limit=100" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, body
        tasks |= {task["taskId"]: task for task in body["tasks"]}
        cursor = body["nextCursor"]
        if cursor is None:
            return tasks


def test_an_empty_feed(client):
    body = client.get("/tasks/changes").get_json()

    assert body["tasks"] == [] and body["deleted"] == [] and body["hasMore"] is False
    assert isinstance(body["syncToken"], str)
    again = client.get(f"/tasks/changes?since={body['syncToken']}").get_json()
    assert again["tasks"] == [] and again["hasMore"] is False


def test_from_nothing_pages_through_every_live_task(client, monkeypatch):
    made = [create(client, title=f"t{i}") for i in range(7)]
    real_now = store_base.now
    monkeypatch.setattr("taskapp.store.tasks.now", lambda: real_now() - timedelta(minutes=5))
    client.delete(f"/tasks/{made[0]['taskId']}")
    monkeypatch.undo()
    client.delete(f"/tasks/{made[1]['taskId']}")  # just now
    live = {task["taskId"]: task for task in made[2:]}

    paged = Replica(client_get(client))
    answers = paged.sync(limit=3)
    assert paged.tasks == live
    assert len(answers) >= 2

    whole = Replica(client_get(client))
    (answer,) = whole.sync()
    assert whole.tasks == live
    # Starting from nothing in one call, tasks deleted before it are not sent as tombstones.
    # (A first sync that pages through the last minute reads it twice and may name them.)
    assert answer["deleted"] == []
    # The next sync may name the recent one (duplicates are allowed), and changes nothing.
    again = whole.sync()
    assert {e["taskId"] for a in again for e in a["deleted"]} <= {made[1]["taskId"]}
    assert whole.tasks == live


def test_a_task_deleted_during_a_first_sync_is_removed_in_that_sync(client):
    made = [create(client, title=f"t{i}") for i in range(5)]
    replica = Replica(client_get(client))
    first = client.get("/tasks/changes?limit=2").get_json()
    replica.tasks = {task["taskId"]: task for task in first["tasks"]}
    replica.token = first["syncToken"]

    client.delete(f"/tasks/{made[0]['taskId']}")  # it is in the copy already
    replica.sync(limit=2)

    assert replica.tasks == {task["taskId"]: task for task in made[1:]}


def test_incremental_sync_sends_what_changed_whole_and_deletions_as_tombstones(client):
    kept, changed, doomed = (create(client, title=name) for name in ("kept", "changed", "doomed"))
    replica = Replica(client_get(client))
    replica.sync()

    updated = client.patch(f"/tasks/{changed['taskId']}", json={"status": "completed"})
    client.delete(f"/tasks/{doomed['taskId']}")
    again = create(client, title="doomed")  # a re-created task is a new task
    answers = replica.sync()

    sent = {task["taskId"] for answer in answers for task in answer["tasks"]}
    gone = [entry for answer in answers for entry in answer["deleted"]]
    assert {changed["taskId"], again["taskId"]} <= sent
    assert [entry["taskId"] for entry in gone] == [doomed["taskId"]]
    assert set(gone[0]) == {"taskId", "deletedAt"}
    assert replica.tasks == {
        kept["taskId"]: kept,
        changed["taskId"]: updated.get_json()["task"],
        again["taskId"]: again,
    }
    assert replica.tasks == server_tasks(client_get(client))


def test_interleaved_creates_updates_deletes_between_small_syncs(client):
    rng = random.Random(3)
    replica = Replica(client_get(client))
    live = []
    for round_ in range(6):
        for _ in range(6):
            action = rng.random()
            if action < 0.45 or not live:
                live.append(create(client, title=f"r{round_}")["taskId"])
            elif action < 0.8:
                task_id = rng.choice(live)
                client.patch(f"/tasks/{task_id}", json={"title": f"edit {round_}"})
            else:
                task_id = live.pop(rng.randrange(len(live)))
                client.delete(f"/tasks/{task_id}")
        replica.sync(limit=rng.choice([1, 2, 5, 100]))
        assert replica.tasks == server_tasks(client_get(client))


def test_a_write_stamped_before_a_sync_but_committed_after_it_is_not_missed(client, monkeypatch):
    """A write that stalls between its stamp and its commit (up to the settle period)."""
    task = create(client, title="slow")
    replica = Replica(client_get(client))
    replica.sync()
    real_now = store_base.now
    # This write is stamped 30 s ago, as if it had stalled since, and commits after the sync.
    monkeypatch.setattr("taskapp.store.tasks.now", lambda: real_now() - timedelta(seconds=30))
    client.patch(f"/tasks/{task['taskId']}", json={"title": "finally"})
    monkeypatch.undo()

    replica.sync()

    assert replica.tasks[task["taskId"]]["title"] == "finally"


def test_tombstones_expire_with_dynamodbs_ttl(client, app):
    task = create(client)
    client.delete(f"/tasks/{task['taskId']}")

    with app.app_context():
        tombstone = Task.get(task_partition("local"), task["taskId"], consistent_read=True)
    assert tombstone.deleted_at is not None and tombstone.title is None
    lifetime = tombstone.expires_at - tombstone.deleted_at
    assert abs(lifetime - timedelta(seconds=app.config["SYNC_RETENTION_SECONDS"])) < timedelta(
        seconds=5
    )


def _token(**position):
    return SyncToken()._serialize(SyncPosition(owner_digest("local"), **position), None, None)


def test_an_expired_token_is_a_410(client, app):
    retention = timedelta(seconds=app.config["SYNC_RETENTION_SECONDS"])
    old = store_base.now() - retention - timedelta(minutes=1)

    for token in (_token(after=format_timestamp(old), fresh=False), _token(mark=old)):
        response = client.get(f"/tasks/changes?since={token}")

        assert response.status_code == 410
        assert response.get_json() == {"error": "Sync token expired; sync again from the start"}


def _flip(token, at):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:at] + alphabet[(alphabet.index(token[at]) + 1) % 64] + token[at + 1 :]


GOOD = _token(after=format_timestamp(store_base.now()), fresh=False)


@pytest.mark.parametrize(
    "since",
    [
        "",
        "garbage",
        "x" * 5000,
        GOOD[:-1],
        GOOD + "A",
        _flip(GOOD, 10),
        _flip(GOOD, 30),
        _flip(GOOD, 55),
        SyncToken()._serialize(SyncPosition(owner_digest("someone else")), None, None),
        _token(after=format_timestamp(store_base.now() + timedelta(days=2)), fresh=False),
    ],
)
def test_a_forged_or_corrupted_token_is_a_400_that_names_since(client, since):
    response = client.get("/tasks/changes", query_string={"since": since})

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["since"]
    assert "since" in error_of(response)


@pytest.mark.parametrize("limit", ["0", "501", "x", "-1"])
def test_a_limit_out_of_range_is_a_400(client, limit):
    response = client.get("/tasks/changes", query_string={"limit": limit})

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["limit"]


def test_a_feed_call_is_one_bounded_consistent_query_of_the_changes_index(client, meter):
    for i in range(5):
        create(client, title=f"t{i}")
    meter.reset()

    first = client.get("/tasks/changes?limit=2").get_json()
    client.get(f"/tasks/changes?limit=2&since={first['syncToken']}")

    assert meter.operations == ["Query", "Query"]
    for sent in meter.requests:
        assert sent.params["IndexName"] == "changes-index"
        assert sent.params["ConsistentRead"] is True
        assert sent.params["Limit"] == 3
        assert "FilterExpression" not in sent.params


@pytest.fixture
def settling_app(dynamodb_local):
    """On DynamoDB Local, with a settle period short enough for a test (writes stall 1.5 s)."""
    app = make_app(dynamodb_local, SYNC_SETTLE_SECONDS=4)
    yield app
    drop_table(app)


@pytest.mark.parametrize("limit", [7, 100])
def test_concurrent_writers_and_stalled_writes_while_a_client_syncs(
    settling_app, monkeypatch, limit
):
    """Writers race over HTTP while a client syncs; some writes stall after their stamp.

    With a page that holds the settle period's changes (100), every sync ends holding every
    write that had returned when its last call began. With small pages (7), a write that
    stalled while a sync paged may come one sync later. Either way, at the end the client's
    copy equals the server's tasks.
    """
    real_now = store_base.now

    def stamp_then_stall():
        moment = real_now()
        if request.headers.get("X-Test-Stall"):
            time.sleep(1.5)  # stamped, not yet sent: within the 4 s settle period
        return moment

    monkeypatch.setattr("taskapp.store.tasks.now", stamp_then_stall)
    journal = []  # (when the write returned, taskId, version or None once deleted)
    deleting = set()  # asked to be deleted: the tombstone may be read before the answer is

    with AppServer(settling_app) as server:

        def get(path):
            return call(server.base, "GET", path)

        def write(method, path, body, headers):
            status, answer = call(server.base, method, path, body, headers)
            assert status in (200, 201), answer
            task_id = answer["task"]["taskId"] if "task" in answer else answer["taskId"]
            version = answer["task"]["version"] if method != "DELETE" else None
            journal.append((time.monotonic(), task_id, version))
            return task_id

        def writer(seed):
            rng = random.Random(seed)
            mine = []
            for step in range(25):
                headers = {"X-Test-Stall": "1"} if step % 8 == 3 else {}
                if not mine or rng.random() < 0.4:
                    mine.append(write("POST", "/tasks", {"title": f"w{seed}"}, headers))
                elif rng.random() < 0.7:
                    task_id = rng.choice(mine)
                    write("PATCH", f"/tasks/{task_id}", {"title": f"edit {step}"}, headers)
                else:
                    task_id = mine.pop(rng.randrange(len(mine)))
                    deleting.add(task_id)
                    write("DELETE", f"/tasks/{task_id}", None, headers)

        def holds_every_write_returned_before(moment):
            """The copy holds each write that returned before ``moment``, or a later one."""
            latest = {}
            for returned, task_id, version in sorted(journal):
                if returned < moment:
                    latest[task_id] = version
            for task_id, version in latest.items():
                held = replica.tasks.get(task_id)
                if version is None:
                    assert held is None, f"{task_id} was deleted but is still held"
                elif task_id not in deleting:
                    assert held is not None and held["version"] >= version, task_id

        replica = Replica(get)
        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        try:
            while any(thread.is_alive() for thread in threads):
                replica.sync(limit=limit)
                if limit == 100:
                    holds_every_write_returned_before(replica.last_call_began)
                time.sleep(0.05)
        finally:
            for thread in threads:  # the server must outlive the writers, even on a failure
                thread.join()
        replica.sync(limit=limit)

        assert len(journal) == 100  # every write succeeded
        assert replica.tasks == server_tasks(get)
        assert len(replica.calls) > 3


def test_a_token_expires_when_the_retention_has_passed():
    """A short retention (2 s) shortens the settle period too, so tokens live until then."""
    with mock_aws():
        client = make_app(None, SYNC_RETENTION_SECONDS=2).test_client()
        create(client)
        token = client.get("/tasks/changes").get_json()["syncToken"]
        again = client.get(f"/tasks/changes?since={token}")
        assert again.status_code == 200

        time.sleep(2.1)
        expired = client.get(f"/tasks/changes?since={again.get_json()['syncToken']}")

        assert expired.status_code == 410
        assert error_of(expired) == "Sync token expired; sync again from the start"
        assert client.get("/tasks/changes").status_code == 200  # starting again works
