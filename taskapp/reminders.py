"""Reminder emails (SPEC section 10): the scheduled run that sends what is due.

Zappa invokes ``wsgi.send_reminders`` every minute (``events`` in zappa_settings.json); `make run`
calls the same function from a thread. A run reads the reminder index minute by minute, from the
first minute it has not finished (kept in the table) to the current one, and for each task filed
there does one of:

- nothing, when its reminder was handled already or is due later in that minute;
- files it again under its own minute, when an edit filed it early (store/reminders.py);
- records it cancelled (the task is completed) or missed (its time is older than the catch-up
  window, REMINDER_CATCHUP_SECONDS), and sends nothing;
- claims it with a conditional write, emails the owner, and records it sent.

A minute is finished once every task in it is handled and no write can still land in it (the
settle period of the change feed). A minute with a reminder that another run holds, or that SES
could not take, is read again by the next run, so a run that dies loses nothing; a run that dies
between sending and recording leaves a claim that expires (LEASE), and the next run sends again:
a second copy, never none. Concurrent runs never both send: only one claim succeeds.

Emails go through SES v2 from REMINDER_SENDER, or, with REMINDER_OUTBOX set, into that folder as
.eml files. Logs carry task ids and SES's error codes, never an address.
"""

import html
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from pynamodb.exceptions import PynamoDBException

from . import metrics, store
from .logging import log_event
from .models import format_timestamp, reminder_bucket
from .store import reminders as filed
from .store.base import Settings, now

# How long a claim holds a reminder: far more than a send takes, so that only a run that died
# lets it go.
LEASE = timedelta(seconds=60)
# How many times SES may refuse a reminder's address before the reminder is marked failed.
MAX_REFUSALS = 5
# Reminders handled at once: SES and DynamoDB calls wait on the network, not the CPU.
WORKERS = 8
# What a run leaves for the end, within Lambda's timeout: a send begun just before the stop
# (SES's timeouts below, one try) and recording the run's progress.
MARGIN_SECONDS = 4.0
MINUTE = timedelta(minutes=1)
# A run that did nothing and read no more minutes than a run normally does logs nothing.
QUIET_MINUTES = 3
LOCAL_SENDER = "reminders@localhost"

# SES's answers, by what they mean for a reminder.
_REFUSED = {"MessageRejected", "BadRequestException"}
_STAGE_BROKEN = {
    "AccessDeniedException",
    "NotFoundException",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
}


class Refused(Exception):
    """SES refused this message's address; another try may or may not do better."""


class Postponed(Exception):
    """SES could not take the message now (throttled, unreachable): try again next minute."""


class StageMisconfigured(Exception):
    """No message can be sent as the stage is set up; the run stops."""


def run(app, context=None) -> Counter:
    """Handle the reminders due now; returns what became of them."""
    with app.app_context():
        config = app.config
        started = now()
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        budget = remaining() / 1000 if remaining else config["REMINDER_POLL_SECONDS"]
        deadline = time.monotonic() + budget - MARGIN_SECONDS
        request_id = getattr(context, "aws_request_id", None)
        tally = Counter()
        try:
            sender = Sender.for_config(config)
            saved = filed.read_cursor()
            window = timedelta(seconds=config["REMINDER_CATCHUP_SECONDS"])
            with ThreadPoolExecutor(WORKERS) as pool:
                cursor, minutes = _run_minutes(
                    _first_minute(saved, started, window),
                    started,
                    deadline,
                    sender,
                    window,
                    pool,
                    tally,
                )
            if cursor != saved:
                filed.save_cursor(cursor, now())
        except (
            StageMisconfigured,
            store.StoreMisconfigured,
            store.StoreUnavailable,
            PynamoDBException,  # such as the index still being built after an upgrade
        ) as error:
            log_event(
                message=f"Reminders not sent: {_sentence(error)}",
                level="error",
                requestId=request_id,
                **tally,
            )
            return tally
        metrics.emit(
            app,
            "sendReminders",
            {
                f"Reminders{outcome.title()}": tally[outcome]
                for outcome in ("sent", "failed", "missed")
            },
        )
        if not tally and minutes <= QUIET_MINUTES:
            return tally  # nothing to tell: no line every minute in the stage's logs
        log_event(
            message="Reminders run",
            requestId=request_id,
            minutesRead=minutes,
            nextMinute=cursor,
            durationMs=round((now() - started).total_seconds() * 1000),
            **tally,
        )
        return tally


def _first_minute(cursor: str | None, started: datetime, window: timedelta) -> str:
    """Where this run starts: where the last one stopped, but no further back than the catch-up
    window (and an hour, to mark what was missed), so that a long pause costs one run's reads."""
    oldest = reminder_bucket(started - window - timedelta(hours=1))
    if cursor is None:  # the first run: a reminder may have been filed since the window began
        return reminder_bucket(started - window)
    return max(cursor, oldest)


def _run_minutes(cursor, started, deadline, sender, window, pool, tally):
    """Read each minute from ``cursor`` to now; returns the first one not finished, and how many
    were read."""
    minute = _as_time(cursor)
    last = _as_time(reminder_bucket(started))
    unfinished = None
    read = 0
    while minute <= last and time.monotonic() < deadline:
        bucket = reminder_bucket(minute)
        tasks = list(filed.filed_in(bucket))
        read += 1

        def handle(task, bucket=bucket):
            if time.monotonic() >= deadline:
                return "left for the next run", False
            return _handle(task, bucket, sender, window)

        results = list(pool.map(handle, tasks))
        for outcome, _ in results:
            if outcome:
                tally[outcome] += 1
        settled = minute + MINUTE + Settings.settle <= started
        if unfinished is None and not (settled and all(done for _, done in results)):
            unfinished = bucket
        minute += MINUTE
    return unfinished or reminder_bucket(minute), read


def _handle(task, bucket: str, sender, window: timedelta):
    """What to do with one task filed under ``bucket``; returns (outcome, whether it is done
    with as far as this minute goes)."""
    moment = filed.reminder_time(task)
    if moment is None:
        return None, True  # an edit took both times away: nothing to remind of
    if task.remind_done == format_timestamp(moment):
        return None, True
    at = now()
    if moment > at:
        later = reminder_bucket(moment)
        if later == bucket:
            return None, False  # later in this minute: the next run
        return ("refiled", True) if filed.refile(task, bucket, later, at) else (None, False)
    if task.status != "pending":
        return _finished(filed.finish(task, bucket, "cancelled", at), "cancelled")
    if at - moment > window:
        return _finished(filed.finish(task, bucket, "missed", at), "missed")
    if task.remind_lease is not None and task.remind_lease > format_timestamp(at):
        return None, False  # another run holds it
    claimed = filed.claim(task, bucket, at, LEASE)
    if claimed is None:
        return None, False
    return _send(claimed, bucket, sender, at)


def _send(task, bucket: str, sender, at: datetime):
    # The current minute, which no run finishes before it is over: the next run tries again.
    retry = reminder_bucket(at)
    moment = filed.reminder_time(task)
    try:
        sender.send(compose(task, sender.address), f"{moment:%Y%m%dT%H%M%SZ}-{task.task_id}")
    except Refused as error:
        tries = (task.remind_tries or 0) + 1
        _log_failure(task, error, tries)
        if tries >= MAX_REFUSALS:
            return _finished(filed.finish(task, bucket, "failed", at, claimed=task), "failed")
        filed.refile(task, bucket, retry, at, claimed=task, tries=tries)
        return "retrying", True
    except Postponed as error:
        _log_failure(task, error)
        filed.refile(task, bucket, retry, at, claimed=task)
        return "retrying", True
    except StageMisconfigured:
        filed.refile(task, bucket, task.remind_bucket, at, claimed=task)  # lets the claim go
        raise
    # Not recorded (the lease ran out, or the time changed meanwhile): the next run decides.
    return _finished(filed.finish(task, bucket, "sent", at, claimed=task), "sent")


def _finished(recorded: bool, outcome: str):
    return (outcome, True) if recorded else (None, False)


def _log_failure(task, error, tries=None):
    fields = {"taskId": task.task_id, "error": str(error)}
    if tries is not None:
        fields["refusals"] = tries
    log_event(message="Reminder not sent; tried again next run", level="warning", **fields)


def _as_time(bucket: str) -> datetime:
    return datetime.fromisoformat(bucket).replace(tzinfo=UTC)


def _sentence(error) -> str:
    if isinstance(error, store.StoreUnavailable):
        return "DynamoDB did not answer or throttled; the next run tries again."
    return str(error) or type(error).__name__


def compose(task, sender: str) -> EmailMessage:
    """The reminder email: the task's title, due date and priority, and a link to it in /app,
    as plain text and HTML, in lines short enough to stay readable in the raw message."""
    title = " ".join(task.title.split())  # one line, as a Subject must be
    due = _shown(task.due_date) if task.due_date else "no due date"
    link = f"{task.remind_link}#task={task.task_id}"
    message = EmailMessage()
    message["Subject"] = f"Reminder: {title} (due {due}, {task.priority} priority)"
    message["From"] = sender
    message["To"] = task.remind_to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid("reminder", domain=sender.rpartition("@")[2])
    message["X-Taskapp-Task-Id"] = task.task_id
    text = [f"Reminder: {title}", "", f"Due: {due}", f"Priority: {task.priority}"]
    if task.description:
        text += ["", task.description]
    text += ["", "Open it:", link, "", _WHY]
    message.set_content("\n".join(text) + "\n")
    escaped = html.escape
    markup = [
        "<!doctype html>",
        "<html><body>",
        f"<h1>Reminder: {escaped(title)}</h1>",
        f"<p>Due: <strong>{escaped(due)}</strong><br>",
        f"Priority: {escaped(task.priority)}</p>",
    ]
    if task.description:
        markup.append(f'<p style="white-space:pre-wrap">{escaped(task.description)}</p>')
    markup += [
        f'<p><a href="{escaped(link)}">Open the task</a></p>',
        f"<p><small>{escaped(_WHY)}</small></p>",
        "</body></html>",
    ]
    message.add_alternative("\n".join(markup) + "\n", subtype="html")
    return message


_WHY = "You set a reminder on this task. Turn it off in the task."


def _shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


class Sender:
    """Sends a message (``name`` is the reminder's time and task), or says why it could not:
    Refused, Postponed or StageMisconfigured."""

    address: str

    @staticmethod
    def for_config(config):
        if config["REMINDER_OUTBOX"]:
            return Outbox(config["REMINDER_OUTBOX"], config["REMINDER_SENDER"] or LOCAL_SENDER)
        if not config["REMINDER_SENDER"]:
            raise StageMisconfigured(
                "REMINDER_SENDER is not set: set it to the stage's SES sender address, or set "
                "REMINDER_OUTBOX to a folder to write the emails into."
            )
        return SES(config["REMINDER_SENDER"], config["AWS_REGION"])


class Outbox(Sender):
    """Writes each email into a folder as an .eml file (make run's .outbox/), named by the
    reminder's time and task, so that a second copy replaces the first."""

    def __init__(self, folder, address):
        self.folder = Path(folder)
        self.address = address

    def send(self, message: EmailMessage, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(bytes(message))
        os.replace(partial, path)


class SES(Sender):
    """Sends through SES v2 as the stage's sender (the role may send as that address only)."""

    def __init__(self, address, region):
        import boto3
        from botocore.config import Config

        self.address = address
        self.client = boto3.client(
            "sesv2",
            region_name=region,
            # One try within the run's margin; a failed send is tried again by the next run.
            config=Config(
                connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 1}
            ),
        )

    def send(self, message: EmailMessage, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            # The recipient is the message's To header: a raw message names its own.
            self.client.send_email(
                FromEmailAddress=self.address, Content={"Raw": {"Data": bytes(message)}}
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _REFUSED:
                raise Refused(code) from None
            if code in _STAGE_BROKEN:
                raise StageMisconfigured(
                    f"SES refused to send as {self.address} ({code}): check that the identity "
                    "is verified and that the stage's role may send as it."
                ) from None
            raise Postponed(code or "SES error") from None
        except BotoCoreError as error:
            raise Postponed(type(error).__name__) from None
