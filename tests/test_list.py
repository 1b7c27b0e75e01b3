"""GET /tasks: newest first, cursor pages, the status filter and read-your-writes."""

import base64
import uuid

import pytest

from taskapp.cursors import filters_digest
from taskapp.store import ListFilters
from tests.helpers import create, error_of


def list_tasks(client, **query):
    response = client.get("/tasks", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def walk(client, **query):
    """Every page of a listing, following nextCursor to the end."""
    pages = [list_tasks(client, **query)]
    while pages[-1]["nextCursor"] is not None:
        pages.append(list_tasks(client, **query, cursor=pages[-1]["nextCursor"]))
    return pages


def test_empty_list(client):
    assert list_tasks(client) == {"tasks": [], "count": 0, "nextCursor": None}


def test_newest_first_in_creation_order(client):
    ids = [create(client, title=f"t{i}")["taskId"] for i in range(6)]

    body = list_tasks(client)

    assert [task["taskId"] for task in body["tasks"]] == ids[::-1]
    assert body["count"] == 6
    assert body["nextCursor"] is None


@pytest.mark.parametrize(("total", "limit"), [(7, 3), (6, 3), (3, 3), (1, 1), (5, 100)])
def test_pages_cover_every_task_once(client, total, limit):
    ids = [create(client, title=f"t{i}")["taskId"] for i in range(total)]

    pages = walk(client, limit=limit)

    seen = [task["taskId"] for page in pages for task in page["tasks"]]
    assert seen == ids[::-1]
    assert [page["count"] for page in pages] == [len(page["tasks"]) for page in pages]
    assert all(page["count"] <= limit for page in pages)
    # No empty trailing page: the last page is the one that says so.
    assert len(pages) == -(-total // limit)


def test_default_limit_is_50(client):
    for i in range(51):
        create(client, title=f"t{i}")

    body = list_tasks(client)

    assert body["count"] == 50
    assert body["nextCursor"] is not None


def test_status_filter_lists_only_that_status(client):
    done = [create(client, title=f"d{i}", status="completed")["taskId"] for i in range(3)]
    todo = [create(client, title=f"p{i}")["taskId"] for i in range(4)]

    completed = walk(client, status="completed", limit=2)
    pending = walk(client, status="pending", limit=2)

    assert [t["taskId"] for page in completed for t in page["tasks"]] == done[::-1]
    assert [t["taskId"] for page in pending for t in page["tasks"]] == todo[::-1]
    assert all(t["status"] == "pending" for page in pending for t in page["tasks"])


def test_a_write_shows_in_the_next_list_at_once(client):
    task = create(client, title="fresh")
    assert list_tasks(client)["tasks"][0] == task

    updated = client.patch(f"/tasks/{task['taskId']}", json={"status": "completed"}).get_json()
    assert list_tasks(client, status="completed")["tasks"] == [updated["task"]]
    assert list_tasks(client, status="pending")["tasks"] == []

    client.delete(f"/tasks/{task['taskId']}")
    assert list_tasks(client)["tasks"] == []


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", "", "1e2"])
def test_limit_out_of_range_is_a_400(client, limit):
    response = client.get("/tasks", query_string={"limit": limit})

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["limit"]
    assert "limit" in error_of(response)


@pytest.mark.parametrize("status", ["done", "Pending", ""])
def test_unknown_status_filter_is_a_400(client, status):
    response = client.get("/tasks", query_string={"status": status})

    assert response.status_code == 400
    assert error_of(response) == 'Status must be either "pending" or "completed"'


def _encode(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_TASK_ID = uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057").bytes
_UNFILTERED = filters_digest(ListFilters())


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        "",
        "x" * 5000,
        _encode(b"\x00" * 8 + _TASK_ID),  # filters that were never asked for
        _encode(_UNFILTERED + _TASK_ID[:15]),  # too short
        _encode(_UNFILTERED + _TASK_ID + b"\x00"),  # too long
        _encode(_UNFILTERED + _TASK_ID + bytes(8)),  # a due position in a list without due bounds
        _encode(_UNFILTERED + _TASK_ID) + "=",  # padded
        _encode(_UNFILTERED + _TASK_ID + bytes(8))[:-1] + "B",  # stray bits after the last byte
        "A" + _encode(_UNFILTERED + _TASK_ID)[1:-1] + "!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_forged_or_corrupted_cursor_is_a_400(client, cursor):
    response = client.get("/tasks", query_string={"cursor": cursor})

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["cursor"]


def test_cursor_only_works_with_the_filter_it_came_from(client):
    for i in range(3):
        create(client, title=f"t{i}")
    cursor = list_tasks(client, limit=1)["nextCursor"]

    response = client.get("/tasks", query_string={"cursor": cursor, "status": "pending"})

    assert response.status_code == 400
    assert "cursor" in error_of(response)
    filtered = list_tasks(client, limit=1, status="pending")["nextCursor"]
    assert client.get("/tasks", query_string={"cursor": filtered}).status_code == 400


def test_a_well_formed_cursor_only_pages_through_the_callers_tasks(client):
    """A made-up cursor is just a starting point inside the caller's own tasks."""
    ids = [create(client, title=f"t{i}")["taskId"] for i in range(3)]
    cursor = _encode(_UNFILTERED + uuid.UUID("ffffffff-ffff-7fff-bfff-ffffffffffff").bytes)

    body = list_tasks(client, cursor=cursor)

    assert [task["taskId"] for task in body["tasks"]] == ids[::-1]


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/tasks", "stauts=completed", "stauts"),
        ("/tasks", "status=pending&limt=5", "limt"),
        ("/tasks/changes", "sinse=x", "sinse"),
        ("/tasks/01890a5d-ac96-774b-bcce-b302099a8057", "fields=title", "fields"),
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(client, path, query, named):
    create(client, status="pending")

    response = client.get(f"{path}?{query}")

    assert response.status_code == 400
    assert error_of(response) == f'Unknown query parameter "{named}"'
    assert response.get_json()["details"] == {named: ["Unknown parameter."]}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_take_no_query_parameters(client, method):
    task = create(client)
    path = "/tasks" if method == "post" else f"/tasks/{task['taskId']}"

    response = getattr(client, method)(f"{path}?dryRun=true", json={"title": "x"})

    assert response.status_code == 400
    assert error_of(response) == 'Unknown query parameter "dryRun"'
    assert list_tasks(client)["tasks"] == [task]
