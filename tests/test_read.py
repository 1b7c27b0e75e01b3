"""GET /tasks/{taskId}: the task, its ETag, 304 when unchanged, 404 for anything else."""

import uuid

import pytest

from tests.helpers import create


def test_get_returns_the_task_with_its_etag(client):
    task = create(client, title="Read me")

    response = client.get(f"/tasks/{task['taskId']}")

    assert response.status_code == 200
    assert response.get_json() == {"task": task}
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize(
    "task_id",
    [
        str(uuid.uuid4()),
        "01890a5d-ac96-774b-bcce-b302099a8057",
        "not-a-uuid",
        "x" * 5000,
        "%00",
        "%F0%9F%98%80",
        "'; DROP TABLE tasks; --",
        "01890A5D-AC96-774B-BCCE-B302099A8057",
        "{01890a5d-ac96-774b-bcce-b302099a8057}",
        "urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057",
    ],
)
def test_unknown_or_malformed_task_id_is_a_404(client, task_id):
    response = client.get(f"/tasks/{task_id}")

    assert response.status_code == 404
    assert response.get_json() == {"error": "Task not found"}


def test_task_id_in_another_case_names_no_task(client):
    task = create(client)

    response = client.get(f"/tasks/{task['taskId'].upper()}")

    assert response.status_code == 404


@pytest.mark.parametrize("header", ['"1"', 'W/"1"', '"7", "1"', "*"])
def test_if_none_match_with_the_current_etag_is_a_304(client, header):
    task = create(client)

    response = client.get(f"/tasks/{task['taskId']}", headers={"If-None-Match": header})

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == '"1"'


def test_if_none_match_with_an_old_etag_returns_the_task(client):
    task = create(client)
    client.patch(f"/tasks/{task['taskId']}", json={"title": "changed"})

    response = client.get(f"/tasks/{task['taskId']}", headers={"If-None-Match": '"1"'})

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert response.get_json()["task"]["title"] == "changed"
