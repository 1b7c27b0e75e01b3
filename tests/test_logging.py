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
