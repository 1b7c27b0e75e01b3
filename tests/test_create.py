"""POST /tasks: defaults, every field's rules, and bodies that are not task objects."""

import http.client
import json
import re

import pytest

from tests.helpers import create, error_of
from tests.servers import AppServer

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_create_fills_in_defaults(client):
    response = client.post("/tasks", json={"title": "Buy milk"})

    assert response.status_code == 201
    body = response.get_json()
    assert body["message"] == "Task created successfully"
    task = body["task"]
    assert UUID7.match(task["taskId"])
    assert response.headers["Location"] == f"/tasks/{task['taskId']}"
    assert response.headers["ETag"] == '"1"'
    assert TIMESTAMP.match(task["createdAt"])
    assert task["updatedAt"] == task["createdAt"]
    assert task == {
        "taskId": task["taskId"],
        "title": "Buy milk",
        "description": "",
        "status": "pending",
        "createdAt": task["createdAt"],
        "updatedAt": task["createdAt"],
        "dueDate": None,
        "priority": "medium",
        "category": None,
        "tags": [],
        "completedAt": None,
        "reminderEnabled": False,
        "reminderAt": None,
        "version": 1,
    }


def test_create_keeps_every_field(client):
    task = create(
        client,
        title="  Write report  ",
        description="Quarterly numbers",
        status="completed",
        dueDate="2025-10-01T17:30:00+02:00",
        priority="high",
        category="work",
        tags=["q3", "finance"],
    )

    assert task["title"] == "Write report"
    assert task["description"] == "Quarterly numbers"
    assert task["status"] == "completed"
    assert task["completedAt"] == task["createdAt"]
    assert task["dueDate"] == "2025-10-01T15:30:00.000Z"
    assert task["priority"] == "high"
    assert task["category"] == "work"
    assert task["tags"] == ["q3", "finance"]


def test_created_task_can_be_read_back(client):
    task = create(client, title="Read me", tags=["x"])

    assert client.get(f"/tasks/{task['taskId']}").get_json()["task"] == task


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2025-10-01T10:00:00Z", "2025-10-01T10:00:00.000Z"),
        ("2025-10-01T10:00:00", "2025-10-01T10:00:00.000Z"),
        ("2025-10-01T10:00:00.123456-05:30", "2025-10-01T15:30:00.123Z"),
        ("2025-12-31T23:30:00-01:00", "2026-01-01T00:30:00.000Z"),
    ],
)
def test_due_date_is_stored_in_utc(client, sent, stored):
    assert create(client, dueDate=sent)["dueDate"] == stored


def test_read_only_fields_are_ignored(client):
    task = create(
        client,
        taskId="not-mine",
        createdAt="2000-01-01T00:00:00.000Z",
        updatedAt="2000-01-01T00:00:00.000Z",
        completedAt="2000-01-01T00:00:00.000Z",
        version=99,
    )

    assert task["taskId"] != "not-mine"
    assert task["createdAt"] != "2000-01-01T00:00:00.000Z"
    assert task["completedAt"] is None
    assert task["version"] == 1


def test_title_is_required(client):
    response = client.post("/tasks", json={"description": "no title"})

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "Title is required",
        "details": {"title": ["Title is required"]},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": 42}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "ok", "description": "x" * 1001}, "description"),
        ({"title": "ok", "description": None}, "description"),
        ({"title": "ok", "description": 5}, "description"),
        ({"title": "ok", "dueDate": "2025-10-01"}, "dueDate"),
        ({"title": "ok", "dueDate": "tomorrow"}, "dueDate"),
        ({"title": "ok", "dueDate": "2025-13-01T00:00:00Z"}, "dueDate"),
        ({"title": "ok", "dueDate": 1700000000}, "dueDate"),
        ({"title": "ok", "dueDate": "0001-01-01T00:00:00+05:00"}, "dueDate"),
        ({"title": "ok", "dueDate": "9999-12-31T23:00:00-05:00"}, "dueDate"),
        ({"title": "ok", "priority": "urgent"}, "priority"),
        ({"title": "ok", "priority": None}, "priority"),
        ({"title": "ok", "category": ""}, "category"),
        ({"title": "ok", "category": "c" * 51}, "category"),
        ({"title": "ok", "category": 7}, "category"),
        ({"title": "ok", "tags": "work"}, "tags"),
        ({"title": "ok", "tags": None}, "tags"),
        ({"title": "ok", "tags": [""]}, "tags"),
        ({"title": "ok", "tags": ["t" * 51]}, "tags"),
        ({"title": "ok", "tags": [1]}, "tags"),
        ({"title": "ok", "tags": ["a", "a"]}, "tags"),
        ({"title": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
    ],
)
def test_invalid_field_is_a_400_naming_it(client, body, field):
    response = client.post("/tasks", json=body)

    assert response.status_code == 400
    payload = response.get_json()
    assert list(payload["details"]) == [field]
    assert field.lower() in payload["error"].lower()
    assert all(isinstance(message, str) for message in payload["details"][field])


@pytest.mark.parametrize("status", ["done", "PENDING", "", None, 1])
def test_status_must_be_pending_or_completed(client, status):
    response = client.post("/tasks", json={"title": "ok", "status": status})

    assert response.status_code == 400
    assert error_of(response) == 'Status must be either "pending" or "completed"'


def test_boundary_lengths_are_accepted(client):
    task = create(
        client,
        title="t" * 200,
        description="d" * 1000,
        category="c" * 50,
        tags=[f"{i:050d}" for i in range(20)],
    )

    assert len(task["title"]) == 200
    assert len(task["tags"]) == 20


def test_unknown_field_is_named(client):
    response = client.post("/tasks", json={"titel": "typo"})

    assert response.status_code == 400
    assert response.get_json()["details"]["titel"] == ["Unknown field."]
    # Title is missing too; both are reported, the first one as the sentence.
    assert error_of(response) == "Title is required"
    response = client.post("/tasks", json={"title": "ok", "colour": "red"})
    assert error_of(response) == 'Unknown field "colour"'


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1, 2]", b'"a string"', b"42", b"null", b"{", b"\xff\xfe", b"[" * 5000],
)
def test_body_that_is_not_a_json_object_is_a_400(client, data):
    response = client.post("/tasks", data=data, content_type="application/json")

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "Request body must be a JSON object"
    assert set(body.get("details", {})) <= {"body"}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", "line 1, column 1"),
        (b'{"title": "a",\n "status": }', "line 2, column 12"),
        (b'{"title": "a" "b"}', "line 1, column 15"),
        (b'{"title": "caf\xc3\xa9",\n\n  oops', "line 3, column 3"),
    ],
)
def test_malformed_json_is_a_400_that_says_where_it_broke(client, data, where):
    response = client.post("/tasks", data=data, content_type="application/json")

    assert response.status_code == 400
    (message,) = response.get_json()["details"]["body"]
    assert message.startswith(f"Not valid JSON at {where}: ")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body_is_json_whatever_its_content_type(client, content_type):
    response = client.post("/tasks", data=b'{"title": "typed"}', content_type=content_type)

    assert response.status_code == 201
    assert response.get_json()["task"]["title"] == "typed"


def test_body_over_64_kib_is_a_413(client):
    response = client.post("/tasks", json={"title": "big", "description": "x" * 70_000})

    assert response.status_code == 413
    assert "64 KiB" in error_of(response)


@pytest.mark.parametrize(("size", "status"), [(1_000, 201), (64 * 1024, 413), (200_000, 413)])
def test_a_chunked_body_is_held_to_the_same_limit(app, size, status):
    """Sent without Content-Length: werkzeug's server streams it, and must not cut it short."""
    body = json.dumps({"title": "chunked", "description": "x" * size}).encode()
    with AppServer(app) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.server.server_port)
        chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
        connection.request(
            "POST", "/tasks", body=chunks, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
        connection.close()

    assert response.status == status
    if status == 413:
        assert answer == {"error": "Request body must not be larger than 64 KiB"}
    else:
        assert len(answer["task"]["description"]) == size


def test_tasks_created_one_after_another_have_increasing_ids(client):
    ids = [create(client, title=f"t{i}")["taskId"] for i in range(5)]

    assert ids == sorted(ids)
