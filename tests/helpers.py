def create(client, **fields):
    """POST a task (titled "Task" unless given) and return it as the API shows it."""
    response = client.post("/tasks", json={"title": "Task", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["task"]


def error_of(response):
    """The error sentence of a JSON error response."""
    assert response.content_type == "application/json"
    return response.get_json()["error"]
