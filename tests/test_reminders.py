"""Reminders (SPEC section 10): the fields, the owner's address from the token, and the scheduled
run that emails what is due, once, on moto and on DynamoDB Local."""

import email
import email.policy
import json
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from taskapp import reminders
from taskapp.models import Task, format_timestamp, reminder_bucket, task_partition
from taskapp.store import reminders as filed
from tests.conftest import drop_table, make_app
from tools.seeding import seed_due_reminders

ADDRESS = "alice@example.com"


class Context:
    """Lambda's context: how long the run may take."""

    aws_request_id = "run-id"

    def __init__(self, seconds=15):
        self.seconds = seconds

    def get_remaining_time_in_millis(self):
        return self.seconds * 1000


@pytest.fixture(scope="module")
def dev_key(tmp_path_factory):
    return str(tmp_path_factory.mktemp("dev-keys") / "dev-key.pem")


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox"


@pytest.fixture
def app(backend, dev_key, outbox):
    app = make_app(backend, AUTH_DEV_KEY=dev_key, REMINDER_OUTBOX=str(outbox))
    with app.app_context():
        # As though the scheduler had run a few minutes ago (a first run looks back a day).
        filed.save_cursor(reminder_bucket(ago(minutes=5)), ago())
    yield app
    drop_table(app)


def token(app, user="alice", address=ADDRESS):
    args = ["dev-token", user] + (["--email", address] if address else [])
    return app.test_cli_runner().invoke(args=args).output.strip()


@pytest.fixture
def alice(app):
    return Caller(app, token(app))


class Caller:
    def __init__(self, app, bearer=None):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}

    def __getattr__(self, method):
        def call(path, headers=None, **kwargs):
            return getattr(self.client, method)(
                path, headers=self.headers | (headers or {}), **kwargs
            )

        return call

    def create(self, **fields):
        response = self.post("/tasks", json={"title": "Call the dentist"} | fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["task"]


def ago(**delta):
    return datetime.now(UTC) - timedelta(**delta)


def iso(moment):
    return format_timestamp(moment)


def run(app, seconds=15):
    return reminders.run(app, Context(seconds))


def sent(outbox):
    """The emails in the outbox, parsed, by task id."""
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]
    return {message["X-Taskapp-Task-Id"]: message for message in messages}


def stored(app, owner, task_id):
    with app.app_context():
        return Task.get(task_partition(owner), task_id, consistent_read=True)


# --- The fields ----------------------------------------------------------------------------


def test_a_reminder_reads_back_as_written_and_is_off_by_default(alice):
    plain = alice.create()
    assert (plain["reminderEnabled"], plain["reminderAt"]) == (False, None)

    at = "2030-05-01T09:30:00+02:00"
    task = alice.create(reminderEnabled=True, reminderAt=at)
    assert (task["reminderEnabled"], task["reminderAt"]) == (True, "2030-05-01T07:30:00.000Z")
    read = alice.get(f"/tasks/{task['taskId']}").get_json()["task"]
    assert read == task
    # The address is the sign-in's, and never part of the task resource.
    assert ADDRESS not in json.dumps(alice.get("/tasks").get_json())
    assert ADDRESS not in json.dumps(alice.get("/tasks/changes").get_json())


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"reminderEnabled": True}, "reminderAt or dueDate is required"),
        ({"reminderEnabled": True, "reminderAt": None, "dueDate": None}, "reminderAt or dueDate"),
        ({"reminderEnabled": "true", "dueDate": "2030-01-01T00:00:00Z"}, "reminderEnabled must"),
        ({"reminderEnabled": 1, "dueDate": "2030-01-01T00:00:00Z"}, "reminderEnabled must"),
        ({"reminderEnabled": None}, "reminderEnabled must not be null"),
        ({"reminderEnabled": True, "reminderAt": "2030-01-01"}, "reminderAt must be"),
    ],
)
def test_a_reminder_without_a_time_or_of_the_wrong_type_is_a_400(alice, fields, message):
    response = alice.post("/tasks", json={"title": "Bad reminder"} | fields)

    assert response.status_code == 400
    assert response.get_json()["error"].startswith(message)
    assert alice.get("/tasks").get_json()["count"] == 0


@pytest.mark.parametrize("who", ["no token", "a token without an email"])
def test_a_caller_without_a_verified_address_cannot_ask_for_a_reminder(app, alice, who):
    caller = Caller(app) if who == "no token" else Caller(app, token(app, "alice", None))
    task = caller.create(dueDate="2030-01-01T00:00:00Z")

    created = caller.post(
        "/tasks", json={"title": "x", "reminderEnabled": True, "dueDate": iso(ago())}
    )
    patched = caller.patch(f"/tasks/{task['taskId']}", json={"reminderEnabled": True})

    for response in (created, patched):
        assert response.status_code == 400
        body = response.get_json()
        assert body["details"] == {"reminderAt": [body["error"]]}
        assert "verified email address" in body["error"]
    # The address is never taken from a body: an unknown field.
    smuggled = alice.post("/tasks", json={"title": "x", "remindTo": "eve@example.com"})
    assert smuggled.status_code == 400


def test_a_caller_without_an_address_may_send_back_a_task_whose_reminder_is_on(app, alice):
    """Such as Alice on a device whose token carries no email (an access token)."""
    caller = Caller(app, token(app, "alice", None))
    reminded = alice.create(reminderEnabled=True, dueDate="2030-01-01T00:00:00Z")
    path = f"/tasks/{reminded['taskId']}"

    echoed = caller.put(path, json=reminded | {"title": "Renamed"})

    assert echoed.status_code == 200, echoed.get_json()
    assert echoed.get_json()["task"]["reminderEnabled"] is True
    assert stored(app, "alice", reminded["taskId"]).remind_to == ADDRESS


def test_an_update_that_would_leave_an_enabled_reminder_without_a_time_is_a_400(app, alice):
    bare = alice.create()
    on_due = alice.create(reminderEnabled=True, dueDate="2030-01-01T00:00:00Z")
    on_time = alice.create(reminderEnabled=True, reminderAt="2030-01-01T00:00:00Z")

    cases = [
        (bare, {"reminderEnabled": True}),
        (bare, {"reminderEnabled": True, "reminderAt": None}),
        (on_due, {"dueDate": None}),
        (on_due, {"dueDate": None, "reminderAt": None}),
        (on_time, {"reminderAt": None}),
    ]
    for task, changes in cases:
        response = alice.patch(f"/tasks/{task['taskId']}", json=changes)
        assert response.status_code == 400, (changes, response.get_json())
        assert "reminderAt" in response.get_json()["details"]
        # Nothing was written: the condition is on the write itself.
        assert alice.get(f"/tasks/{task['taskId']}").get_json()["task"] == task

    # A stale If-Match is still a 412, a missing task a 404; a time kept or given is fine.
    path = f"/tasks/{on_due['taskId']}"
    assert alice.patch(path, json={"dueDate": None}, headers={"If-Match": '"9"'}).status_code == 412
    gone = "/tasks/01a21403-0000-7000-8000-000000000000"
    assert alice.patch(gone, json={"reminderEnabled": True}).status_code == 404
    assert alice.patch(path, json={"dueDate": None, "reminderAt": iso(ago())}).status_code == 200
    assert alice.patch(f"/tasks/{on_time['taskId']}", json={"dueDate": None}).status_code == 200
    assert alice.patch(f"/tasks/{bare['taskId']}", json={"reminderAt": None}).status_code == 200


def test_a_retry_after_the_upgrade_matches_its_record(alice):
    """Bodies without reminder fields hash as before reminders existed."""
    headers = {"Idempotency-Key": "key-1"}
    first = alice.post("/tasks", json={"title": "Once"}, headers=headers)
    again = alice.post("/tasks", json={"title": "Once", "reminderEnabled": False}, headers=headers)

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()


# --- The scheduled run ---------------------------------------------------------------------


def test_a_due_reminder_is_emailed_once_to_the_owner(app, alice, outbox):
    due = alice.create(
        title="Renew passport", reminderEnabled=True, dueDate=iso(ago(minutes=2)), priority="high"
    )
    at = alice.create(title="Call <Bob> & co", reminderEnabled=True, reminderAt=iso(ago(seconds=5)))
    later = alice.create(reminderEnabled=True, reminderAt=iso(ago(minutes=-90)))
    plain = alice.create(dueDate=iso(ago(minutes=1)))

    first = run(app)
    second = run(app)

    assert first["sent"] == 2 and "sent" not in second
    messages = sent(outbox)
    assert set(messages) == {due["taskId"], at["taskId"]}
    message = messages[due["taskId"]]
    assert message["To"] == ADDRESS
    assert message["From"] == reminders.LOCAL_SENDER
    assert "Renew passport" in message["Subject"] and "high priority" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    shown_due = datetime.fromisoformat(due["dueDate"]).strftime("%a %d %b %Y, %H:%M UTC")
    link = f"http://localhost/app#task={due['taskId']}"
    for body in (text, page):
        assert "Renew passport" in body and shown_due in body and "high" in body and link in body
    # Titles are escaped in the HTML part.
    assert "Call &lt;Bob&gt; &amp; co" in messages[at["taskId"]].get_body(("html",)).get_content()
    # The one due in 90 minutes waits, filed under its own minute; a task without a reminder
    # never enters the index.
    assert stored(app, "alice", later["taskId"]).remind_bucket == reminder_bucket(
        datetime.fromisoformat(later["reminderAt"])
    )
    assert stored(app, "alice", plain["taskId"]).remind_to is None
    # The scheduler's writes leave the task's version, and so its ETag and the feed, alone.
    assert alice.get(f"/tasks/{due['taskId']}").get_json()["task"] == due


def test_disabling_completing_or_deleting_cancels_and_a_new_time_rearms(app, alice, outbox):
    reminder = {"reminderEnabled": True, "reminderAt": iso(ago(seconds=30))}
    disabled, completed, deleted, moved, edited = (alice.create(**reminder) for _ in range(5))
    alice.patch(f"/tasks/{disabled['taskId']}", json={"reminderEnabled": False})
    alice.patch(f"/tasks/{completed['taskId']}", json={"status": "completed"})
    alice.delete(f"/tasks/{deleted['taskId']}")
    alice.patch(f"/tasks/{moved['taskId']}", json={"reminderAt": iso(ago(minutes=-60))})

    tally = run(app)

    assert set(sent(outbox)) == {edited["taskId"]}
    assert tally["cancelled"] == 1
    assert stored(app, "alice", completed["taskId"]).remind_outcome == "cancelled"
    # Editing other fields, or sending the task back as read, does not send it again ...
    read = alice.get(f"/tasks/{edited['taskId']}").get_json()["task"]
    alice.put(f"/tasks/{edited['taskId']}", json=read)
    alice.patch(f"/tasks/{edited['taskId']}", json={"title": "Renamed", "dueDate": iso(ago())})
    assert "sent" not in run(app)
    # ... changing its time re-arms it.
    alice.patch(f"/tasks/{edited['taskId']}", json={"reminderAt": iso(ago(seconds=1))})
    alice.patch(f"/tasks/{moved['taskId']}", json={"reminderAt": iso(ago(seconds=1))})
    assert run(app)["sent"] == 2
    assert len(list(outbox.glob(f"*{edited['taskId']}.eml"))) == 2


def test_a_reminder_at_the_due_date_follows_it(app, alice, outbox):
    task = alice.create(reminderEnabled=True, dueDate=iso(ago(minutes=-30)))
    path = f"/tasks/{task['taskId']}"
    # A dueDate alone may or may not be the reminder's time: the write files the task in its
    # own minute, and the run files it under its time.
    alice.patch(path, json={"dueDate": iso(ago(minutes=-45))})
    assert stored(app, "alice", task["taskId"]).remind_bucket == reminder_bucket(ago())
    assert run(app)["refiled"] == 1
    assert stored(app, "alice", task["taskId"]).remind_bucket == reminder_bucket(ago(minutes=-45))

    alice.patch(path, json={"dueDate": iso(ago(seconds=2))})
    assert run(app)["sent"] == 1
    assert set(sent(outbox)) == {task["taskId"]}


def test_reminders_missed_while_the_scheduler_was_down(app, alice, outbox):
    """Sent when it comes back within the catch-up window; older ones marked missed."""
    recent = alice.create(reminderEnabled=True, reminderAt=iso(ago(hours=2)))
    stale = alice.create(reminderEnabled=True, reminderAt=iso(ago(hours=24, minutes=30)))
    with app.app_context():
        # Filed at their times while the scheduler ran; it stopped 26 hours ago, longer than
        # the window: the run starts at the window's edge, and an hour before to mark what was
        # missed.
        for task in (recent, stale):
            moment = datetime.fromisoformat(task["reminderAt"])
            Task(task_partition("alice"), task["taskId"]).update(
                [Task.remind_bucket.set(reminder_bucket(moment))]
            )
        filed.save_cursor(reminder_bucket(ago(hours=26)), ago(hours=26))

    tally = run(app)

    assert set(sent(outbox)) == {recent["taskId"]}
    assert (tally["sent"], tally["missed"]) == (1, 1)
    assert stored(app, "alice", stale["taskId"]).remind_outcome == "missed"
    with app.app_context():
        assert filed.read_cursor() >= reminder_bucket(ago(minutes=3))


def test_a_past_reminder_within_the_window_is_sent_at_once(app, alice, outbox):
    task = alice.create(reminderEnabled=True, reminderAt=iso(ago(hours=23)))
    too_old = alice.create(reminderEnabled=True, reminderAt=iso(ago(hours=25)))

    tally = run(app)

    assert set(sent(outbox)) == {task["taskId"]}
    assert tally["missed"] == 1 and stored(app, "alice", too_old["taskId"]).remind_done


def test_a_first_run_looks_back_over_the_window(app, alice, outbox):
    task = alice.create(reminderEnabled=True, reminderAt=iso(ago(minutes=3)))
    with app.app_context():
        Task(task_partition("alice"), task["taskId"]).update(
            [Task.remind_bucket.set(reminder_bucket(ago(minutes=3)))]
        )
        filed.ReminderProgress.get("scheduler#reminders", "progress").delete()
    app.config["REMINDER_CATCHUP_SECONDS"] = 600

    assert run(app)["sent"] == 1


def test_a_backlog_larger_than_a_run_continues_on_the_next_without_loss(app, outbox):
    with app.app_context():
        addresses = seed_due_reminders(120, ago(seconds=10), ago(seconds=10), "http://x/app")

    runs, total = 0, 0
    while total < len(addresses):
        # A run that may take only a moment leaves the rest to the next one.
        total += run(app, seconds=reminders.MARGIN_SECONDS + 0.3)["sent"]
        runs += 1
        assert runs < 100
    assert runs > 1
    messages = sent(outbox)
    assert {task_id: m["To"] for task_id, m in messages.items()} == addresses
    assert "sent" not in run(app)


def test_concurrent_runs_never_send_a_reminder_twice(backend, app, alice, outbox, monkeypatch):
    if backend is None:
        pytest.skip(
            "moto checks a write's condition and then writes without a lock, so two threads' "
            "claims can both pass; DynamoDB Local applies them one at a time, as DynamoDB does"
        )
    for index in range(30):
        alice.create(title=f"Task {index}", reminderEnabled=True, reminderAt=iso(ago(seconds=5)))
    sends = []
    send = reminders.Outbox.send

    def counted(self, message, name):
        sends.append(message["X-Taskapp-Task-Id"])
        send(self, message, name)

    monkeypatch.setattr(reminders.Outbox, "send", counted)
    tallies = []
    runs = [threading.Thread(target=lambda: tallies.append(run(app))) for _ in range(3)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()

    assert len(sends) == len(set(sends)) == 30
    assert sum(tally["sent"] for tally in tallies) == 30


# --- Through SES (moto's) ------------------------------------------------------------------

SENDER = "reminders@example.com"


@pytest.fixture
def ses(backend, app):
    """moto's SES v2 with the stage's sender verified; DynamoDB stays where ``backend`` is."""
    from moto import mock_aws

    app.config.update(REMINDER_OUTBOX=None, REMINDER_SENDER=SENDER)
    with mock_aws() if backend is not None else _nothing():
        client = boto3.client("sesv2", region_name="us-east-1")
        client.create_email_identity(EmailIdentity=SENDER)
        yield boto3.client("ses", region_name="us-east-1")


@contextmanager
def _nothing():
    yield  # the moto backend's mock is on already


def sent_through_ses(ses):
    return int(ses.get_send_quota()["SentLast24Hours"])


@pytest.fixture
def ses_answers(monkeypatch):
    """ses_answers(CODE, ...): SES answers each SendEmail with the next error code (None: as
    moto does), the way a throttled or refusing SES would; then as moto does."""
    codes = []
    made = reminders.SES.__init__

    def refusing(response_codes):
        codes.extend(response_codes)

    def build(self, address, region):
        made(self, address, region)
        self.client.meta.events.register("before-call.sesv2.SendEmail", answer)

    def answer(**_):
        code = codes.pop(0) if codes else None
        if code is None:
            return None
        status = 429 if code == "TooManyRequestsException" else 400
        return FakeHTTP(status), {"Error": {"Code": code, "Message": f"{ADDRESS} {code}"}}

    monkeypatch.setattr(reminders.SES, "__init__", build)
    return refusing


class FakeHTTP:
    def __init__(self, status_code):
        self.status_code = status_code
        self.headers = {}


def test_reminders_go_through_ses_from_the_sender(app, alice, ses):
    tasks = [alice.create(reminderEnabled=True, reminderAt=iso(ago(seconds=5))) for _ in range(3)]

    assert run(app)["sent"] == 3
    assert "sent" not in run(app)
    assert sent_through_ses(ses) == len(tasks)


def test_ses_throttling_keeps_reminders_pending_until_it_recovers(
    app, alice, ses, ses_answers, log_lines
):
    for _ in range(3):
        alice.create(reminderEnabled=True, reminderAt=iso(ago(seconds=5)))
    ses_answers(["TooManyRequestsException"] * 3)

    throttled = run(app)

    assert (throttled["retrying"], throttled["sent"]) == (3, 0)
    assert sent_through_ses(ses) == 0
    assert run(app)["sent"] == 3
    assert sent_through_ses(ses) == 3
    warnings = [line for line in log_lines if "TooManyRequestsException" in line]
    assert warnings and not any(ADDRESS in line for line in log_lines)


def test_a_refused_address_is_marked_failed_after_a_bounded_number_of_tries(
    app, alice, ses, ses_answers, log_lines
):
    task = alice.create(reminderEnabled=True, reminderAt=iso(ago(seconds=5)))
    ses_answers(["MessageRejected"] * reminders.MAX_REFUSALS)

    tallies = [run(app) for _ in range(reminders.MAX_REFUSALS)]

    assert [t["retrying"] for t in tallies[:-1]] == [1] * (reminders.MAX_REFUSALS - 1)
    assert tallies[-1]["failed"] == 1
    assert stored(app, "alice", task["taskId"]).remind_outcome == "failed"
    assert not run(app) and sent_through_ses(ses) == 0
    assert any('"refusals":5' in line for line in log_lines)
    assert not any(ADDRESS in line for line in log_lines)


def test_a_sender_the_stage_may_not_use_stops_the_run_and_loses_nothing(
    app, alice, ses, ses_answers, log_lines
):
    alice.create(reminderEnabled=True, reminderAt=iso(ago(seconds=5)))
    ses_answers(["AccessDeniedException"])

    assert not run(app)
    assert any("SES refused to send as reminders@example.com" in line for line in log_lines)
    assert run(app)["sent"] == 1  # the claim was let go
