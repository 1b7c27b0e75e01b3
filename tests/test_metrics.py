"""The app's own metrics: CloudWatch embedded metric format lines, by stage and operation."""

import json

import pytest

from taskapp import metrics, reminders
from tests.conftest import drop_table, make_app

SECRET = "Pay the rent to Mallory"


@pytest.fixture
def app(backend, monkeypatch, tmp_path):
    monkeypatch.setattr(metrics, "_cold", True)
    app = make_app(backend, METRICS=True, STAGE="prod", REMINDER_OUTBOX=str(tmp_path))
    yield app
    drop_table(app)


def emf_lines(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "taskapp"
        assert directive["Dimensions"] == [["Stage"], ["Stage", "Operation"]]
        assert line["Stage"] == "prod"
    return lines


def counted(line):
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    # Powertools writes each value as a list of the values added (here one).
    return line["Operation"], {m["Name"]: sum(line[m["Name"]]) for m in directive["Metrics"]}


def test_each_operation_counts_what_it_did(app, capsys):
    client = app.test_client()
    key = {"Idempotency-Key": "once"}
    task = client.post("/tasks", json={"title": SECRET}, headers=key).get_json()["task"]
    client.post("/tasks", json={"title": SECRET}, headers=key)
    path = f"/tasks/{task['taskId']}"
    client.patch(path, json={"status": "completed"})
    client.patch(path, json={"title": "x"}, headers={"If-Match": '"1"'})
    client.get(path)
    client.get("/tasks/changes")
    client.delete(path)

    assert [counted(line) for line in emf_lines(capsys)] == [
        ("createTask", {"TasksCreated": 1, "ColdStarts": 1}),
        ("createTask", {"IdempotentReplays": 1}),
        ("patchTask", {"TasksCompleted": 1}),
        ("patchTask", {"PreconditionFailed": 1}),
        ("listChanges", {"ChangeFeedCalls": 1}),
        ("deleteTask", {"TasksDeleted": 1}),
    ]


def test_an_expired_sync_token_is_counted(app, capsys):
    from datetime import timedelta

    from taskapp.cursors import SyncToken
    from taskapp.store import SyncPosition
    from taskapp.store.base import now
    from taskapp.store.feed import owner_digest

    old = now() - timedelta(seconds=app.config["SYNC_RETENTION_SECONDS"] + 60)
    token = SyncToken()._serialize(SyncPosition(owner_digest("local"), mark=old), None, None)
    response = app.test_client().get("/tasks/changes", query_string={"since": token})

    assert response.status_code == 410
    (line,) = emf_lines(capsys)
    assert counted(line) == (
        "listChanges",
        {"ChangeFeedCalls": 1, "ChangeFeedExpired": 1, "ColdStarts": 1},
    )


def test_the_scheduler_counts_reminders_and_lines_hold_no_content(app, capsys):
    from datetime import UTC, datetime, timedelta

    from taskapp.models import reminder_bucket
    from taskapp.store.reminders import save_cursor
    from tools.seeding import seed_due_reminders

    stamp = datetime.now(UTC)
    with app.app_context():
        save_cursor(reminder_bucket(stamp - timedelta(minutes=5)), stamp)
        seed_due_reminders(3, stamp - timedelta(seconds=5), stamp, "http://x/app")
    capsys.readouterr()

    reminders.run(app)

    (line,) = emf_lines(capsys)
    assert counted(line) == ("sendReminders", {"RemindersSent": 3, "ColdStarts": 1})
    assert "@" not in json.dumps(line) and "Seeded" not in json.dumps(line)


def test_no_metrics_off_aws(backend, capsys):
    app = make_app(backend)
    app.test_client().post("/tasks", json={"title": "Local"})

    assert '"_aws"' not in capsys.readouterr().out
    assert "taskapp.metrics" not in app.extensions
    drop_table(app)
