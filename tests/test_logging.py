"""One JSON log line per request: method, path, status, latency and request id, nothing else."""

import json
import logging
import urllib.request

from tests.helpers import create
from tests.servers import AppServer


def test_each_request_logs_one_json_line(client, log_lines):
    task = create(client)
    client.get(f"/tasks/{task['taskId']}", headers={"Authorization": "Bearer secret-token"})
    client.get("/nowhere")

    entries = [json.loads(line) for line in log_lines]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/tasks", 201),
        ("GET", f"/tasks/{task['taskId']}", 401),
        ("GET", "/nowhere", 404),
    ]
    for entry in entries:
        assert set(entry) == {"method", "path", "status", "latencyMs", "requestId"}
        assert entry["latencyMs"] >= 0
    assert len({entry["requestId"] for entry in entries}) == 3


def test_every_response_carries_its_log_lines_request_id(client, log_lines):
    """A user quoting X-Request-Id leads to the line; a 500's body holds the same id."""
    created = client.post("/tasks", json={"title": "Quoted"})
    path = created.headers["Location"]
    responses = [
        created,
        client.get(path, headers={"If-None-Match": '"1"'}),
        client.get("/nowhere"),
        client.delete("/tasks"),
        client.post("/tasks", json={"titel": "typo"}),
        client.options("/tasks", headers={"Origin": "https://app.example.com"}),
        client.get("/openapi.json"),
    ]

    ids = [json.loads(line)["requestId"] for line in log_lines]
    assert [response.headers["X-Request-Id"] for response in responses] == ids
    assert len(set(ids)) == len(ids)
    assert responses[1].status_code == 304
    exposed = responses[0].headers["Access-Control-Expose-Headers"]
    assert "X-Request-Id" in {name.strip() for name in exposed.split(",")}
    assert not any("secret-token" in line for line in log_lines)


def test_query_strings_stay_out_of_the_log(client, log_lines):
    client.get("/tasks?limit=5&cursor=abc")

    assert json.loads(log_lines[0])["path"] == "/tasks"


def test_flask_run_logs_each_request_once(app, caplog):
    """werkzeug's server logs its own line per request; the JSON line already says it all."""
    with caplog.at_level(logging.INFO), AppServer(app) as server:
        urllib.request.urlopen(server.base + "/tasks").read()

    lines = [record.getMessage() for record in caplog.records]
    assert [line for line in lines if '"path":"/tasks"' in line]
    assert not [line for line in lines if "GET /tasks HTTP/1.1" in line]
