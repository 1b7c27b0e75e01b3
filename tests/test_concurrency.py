"""Concurrent writers over real HTTP against DynamoDB Local: conditions keep every task whole."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import drop_table, make_app
from tests.servers import AppServer, call

WRITERS = 20


@pytest.fixture
def server(dynamodb_local):
    app = make_app(dynamodb_local)
    with AppServer(app) as server:
        yield server
    drop_table(app)


def at_once(count, make_call):
    """Run ``count`` calls released together; returns their (status, body) answers."""
    barrier = threading.Barrier(count)

    def go(index):
        barrier.wait()
        return make_call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


def test_one_of_twenty_writers_with_the_same_etag_wins(server):
    _, body = call(server.base, "POST", "/tasks", {"title": "Contested"})
    path = f"/tasks/{body['task']['taskId']}"

    answers = at_once(
        WRITERS,
        lambda i: call(server.base, "PUT", path, {"title": f"writer {i}"}, {"If-Match": '"1"'}),
    )

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [412] * (WRITERS - 1)
    (winner,) = [body for status, body in answers if status == 200]
    _, now = call(server.base, "GET", path)
    assert now["task"] == winner["task"]
    assert now["task"]["version"] == 2


def test_a_delete_racing_an_update_never_leaves_the_task_behind(server):
    for _ in range(10):
        _, body = call(server.base, "POST", "/tasks", {"title": "Doomed"})
        path = f"/tasks/{body['task']['taskId']}"

        answers = at_once(
            2,
            lambda i, p=path: (
                call(server.base, "DELETE", p)
                if i == 0
                else call(server.base, "PATCH", p, {"title": "Saved?"})
            ),
        )

        deleted, updated = answers
        assert deleted[0] == 200
        assert updated[0] in (200, 404)
        assert call(server.base, "GET", path)[0] == 404
    assert call(server.base, "GET", "/tasks")[1]["count"] == 0


def test_twenty_racing_creates_with_one_key_make_one_task(server):
    answers = at_once(
        WRITERS,
        lambda i: call(
            server.base, "POST", "/tasks", {"title": "Once"}, {"Idempotency-Key": "race-1"}
        ),
    )

    assert {status for status, _ in answers} == {201}
    assert len({body["task"]["taskId"] for _, body in answers}) == 1
    assert call(server.base, "GET", "/tasks")[1]["count"] == 1
