"""PUT and PATCH /tasks/{taskId}: partial updates, status transitions, If-Match."""

import pytest

from tests.helpers import create, error_of

METHODS = pytest.mark.parametrize("method", ["put", "patch"])


def send(client, method, task_id, body, **headers):
    return getattr(client, method)(f"/tasks/{task_id}", json=body, headers=headers)


@METHODS
def test_only_the_fields_sent_change(client, method):
    task = create(client, title="Old", description="keep me", tags=["a"], priority="low")

    response = send(client, method, task["taskId"], {"title": "  New  ", "priority": "high"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "Task updated successfully"
    updated = body["task"]
    assert updated["title"] == "New"
    assert updated["priority"] == "high"
    assert updated["description"] == "keep me"
    assert updated["tags"] == ["a"]
    assert updated["createdAt"] == task["createdAt"]
    assert updated["updatedAt"] >= task["updatedAt"]
    assert updated["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert client.get(f"/tasks/{task['taskId']}").get_json()["task"] == updated


@METHODS
def test_every_write_bumps_the_version(client, method):
    task = create(client)
    for version in (2, 3, 4):
        response = send(client, method, task["taskId"], {"description": f"v{version}"})
        assert response.get_json()["task"]["version"] == version


def test_completing_sets_completed_at_and_reopening_clears_it(client):
    task = create(client)

    completed = send(client, "patch", task["taskId"], {"status": "completed"}).get_json()["task"]
    assert completed["status"] == "completed"
    assert completed["completedAt"] == completed["updatedAt"]

    again = send(client, "patch", task["taskId"], {"status": "completed"}).get_json()["task"]
    assert again["completedAt"] == completed["completedAt"]

    reopened = send(client, "patch", task["taskId"], {"status": "pending"}).get_json()["task"]
    assert reopened["status"] == "pending"
    assert reopened["completedAt"] is None


def test_null_clears_due_date_and_category(client):
    task = create(client, dueDate="2030-01-01T00:00:00Z", category="home")

    response = send(client, "patch", task["taskId"], {"dueDate": None, "category": None})

    updated = response.get_json()["task"]
    assert updated["dueDate"] is None
    assert updated["category"] is None


@pytest.mark.parametrize("field", ["title", "description", "status", "priority", "tags"])
def test_null_for_other_fields_is_a_400(client, field):
    task = create(client)

    response = send(client, "patch", task["taskId"], {field: None})

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == [field]


@pytest.mark.parametrize(
    "body",
    [{}, {"taskId": "x", "version": 3}, {"createdAt": "2020-01-01T00:00:00.000Z"}],
)
def test_a_body_with_nothing_to_update_is_a_400(client, body):
    task = create(client)

    response = send(client, "put", task["taskId"], body)

    assert response.status_code == 400
    assert "at least one field" in error_of(response)


def test_a_task_read_back_and_sent_as_is_updates(client):
    task = create(client, title="Round trip")
    task["title"] = "Round trip, edited"

    response = send(client, "put", task["taskId"], task)

    assert response.status_code == 200
    assert response.get_json()["task"]["title"] == "Round trip, edited"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"status": "archived"}, "status"),
        ({"dueDate": "2025-10-01"}, "dueDate"),
        ({"tags": ["a", "a"]}, "tags"),
        ({"titel": "typo"}, "titel"),
    ],
)
def test_invalid_update_changes_nothing(client, body, field):
    task = create(client)

    response = send(client, "patch", task["taskId"], body)

    assert response.status_code == 400
    assert field in response.get_json()["details"]
    assert client.get(f"/tasks/{task['taskId']}").get_json()["task"] == task


@pytest.mark.parametrize("body", [b"[]", b"nope", b""])
def test_update_body_must_be_a_json_object(client, body):
    task = create(client)

    response = client.put(f"/tasks/{task['taskId']}", data=body)

    assert response.status_code == 400
    assert error_of(response) == "Request body must be a JSON object"


@METHODS
def test_updating_a_missing_task_is_a_404_and_creates_nothing(client, method):
    missing = "01890a5d-ac96-774b-bcce-b302099a8057"

    response = send(client, method, missing, {"title": "ghost"})

    assert response.status_code == 404
    assert response.get_json() == {"error": "Task not found"}
    assert client.get(f"/tasks/{missing}").status_code == 404
    assert client.get("/tasks").get_json()["count"] == 0


def test_a_deleted_task_is_not_resurrected_by_an_update(client):
    task = create(client)
    client.delete(f"/tasks/{task['taskId']}")

    response = send(client, "patch", task["taskId"], {"title": "back?"})

    assert response.status_code == 404
    assert client.get(f"/tasks/{task['taskId']}").status_code == 404


@pytest.mark.parametrize("if_match", ['"1"', "*", '"5", "1"'])
def test_if_match_with_the_current_etag_updates(client, if_match):
    task = create(client)

    response = send(client, "patch", task["taskId"], {"title": "ok"}, **{"If-Match": if_match})

    assert response.status_code == 200
    assert response.get_json()["task"]["version"] == 2


@pytest.mark.parametrize("if_match", ['"2"', 'W/"1"', '"abc"', '"1x"', '"¹"', '"' + "9" * 40 + '"'])
def test_if_match_with_a_stale_or_foreign_etag_is_a_412(client, if_match):
    task = create(client)

    response = send(client, "put", task["taskId"], {"title": "no"}, **{"If-Match": if_match})

    assert response.status_code == 412
    assert "ETag" in error_of(response)
    assert client.get(f"/tasks/{task['taskId']}").get_json()["task"] == task


def test_if_match_on_a_missing_task_is_still_a_404(client):
    missing = "01890a5d-ac96-774b-bcce-b302099a8057"

    response = send(client, "put", missing, {"title": "x"}, **{"If-Match": '"1"'})

    assert response.status_code == 404


def test_second_writer_with_the_same_etag_loses(client):
    task = create(client)
    first = send(client, "patch", task["taskId"], {"title": "first"}, **{"If-Match": '"1"'})
    second = send(client, "patch", task["taskId"], {"title": "second"}, **{"If-Match": '"1"'})

    assert (first.status_code, second.status_code) == (200, 412)
    assert client.get(f"/tasks/{task['taskId']}").get_json()["task"]["title"] == "first"
