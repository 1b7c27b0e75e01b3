"""DELETE /tasks/{taskId}: gone once, 404 after, conditional with If-Match."""

import pytest

from tests.helpers import create


def test_delete_removes_the_task(client):
    task = create(client)

    response = client.delete(f"/tasks/{task['taskId']}")

    assert response.status_code == 200
    assert response.get_json() == {
        "message": "Task deleted successfully",
        "taskId": task["taskId"],
    }
    assert client.get(f"/tasks/{task['taskId']}").status_code == 404
    assert client.get("/tasks").get_json()["tasks"] == []


@pytest.mark.parametrize("task_id", ["01890a5d-ac96-774b-bcce-b302099a8057", "nope", "z" * 3000])
def test_deleting_a_missing_task_is_a_404(client, task_id):
    response = client.delete(f"/tasks/{task_id}")

    assert response.status_code == 404
    assert response.get_json() == {"error": "Task not found"}


def test_deleting_twice_is_a_404_the_second_time(client):
    task = create(client)

    assert client.delete(f"/tasks/{task['taskId']}").status_code == 200
    assert client.delete(f"/tasks/{task['taskId']}").status_code == 404


def test_delete_with_a_stale_if_match_is_a_412_and_keeps_the_task(client):
    task = create(client)
    client.patch(f"/tasks/{task['taskId']}", json={"title": "v2"})

    response = client.delete(f"/tasks/{task['taskId']}", headers={"If-Match": '"1"'})

    assert response.status_code == 412
    assert client.get(f"/tasks/{task['taskId']}").status_code == 200


@pytest.mark.parametrize("if_match", ['"1"', "*"])
def test_delete_with_a_matching_if_match_deletes(client, if_match):
    task = create(client)

    response = client.delete(f"/tasks/{task['taskId']}", headers={"If-Match": if_match})

    assert response.status_code == 200
    assert client.get(f"/tasks/{task['taskId']}").status_code == 404


def test_delete_with_if_match_on_a_missing_task_is_a_404(client):
    response = client.delete(
        "/tasks/01890a5d-ac96-774b-bcce-b302099a8057", headers={"If-Match": '"1"'}
    )

    assert response.status_code == 404
