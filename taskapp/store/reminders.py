"""Reminders (SPEC section 10) in the table: where a write files a task, and the scheduler's
conditional writes.

A task with an enabled reminder sits in the sparse reminder index under a minute, its
``remindBucket``; the scheduler reads the minutes since the last one it finished. A write files
the task in the reminder's own minute when the request says what the reminder's time is (a
``reminderAt``, or a ``dueDate`` with ``reminderAt`` cleared), and in the write's minute when it
does not (a ``dueDate`` alone may or may not be the reminder's time, and an update never reads
the task first). A time already past is filed in the write's minute too, since the scheduler
has read the earlier ones. Filing early is always safe: the scheduler looks at the task then,
and files it again at its time (``refile``). Filing late would lose it, and never happens.

A task is in the index only while it also has ``remindTo``, the owner's address, which
``reminderEnabled: true`` sets and ``false`` removes; deleting the task removes both.
Completing it does not: the scheduler finds it completed at its time and cancels it, so that
a task reopened before then still reminds.

The scheduler claims a reminder before it sends it (``claim``: a lease, on the condition that no
other run holds one and that the reminder is as the index showed it), records what it did
(``finish``: ``remindDone`` is the time of the reminder handled, which a change of time
re-arms), and never changes the task's version, updatedAt or place in the change feed.
"""

from datetime import datetime, timedelta
from typing import NamedTuple

from pynamodb.exceptions import UpdateError

from ..models import ReminderProgress, Task, format_timestamp, reminder_bucket
from .base import now, translated_errors

# Marks a field that a request leaves alone (None is a field it clears).
_ABSENT = object()


class Recipient(NamedTuple):
    """Where a reminder goes: the owner's verified address, and the /app page to link to."""

    address: str
    link: str


class ReminderNeedsTime(Exception):
    """An enabled reminder would have neither reminderAt nor dueDate."""


class ReminderNeedsAddress(Exception):
    """A reminder enabled by a caller without a verified address, on a task that has none."""


def arm_created(task: Task, stamp: datetime, recipient: Recipient | None) -> None:
    """File a new task's enabled reminder; the schema has checked it has a time."""
    if not task.reminder_enabled:
        return
    moment = task.reminder_at or task.due_date
    task.remind_bucket = reminder_bucket(max(moment, stamp))
    task.remind_to = recipient.address
    task.remind_link = recipient.link


def update_actions(changes: dict, stamp: datetime, recipient: Recipient | None):
    """The actions and the condition that keep an update's reminder filed where it belongs, and
    what to make of a task as stored that failed the condition.

    The condition refuses an update that would leave an enabled reminder with no time
    (ReminderNeedsTime), judged on the task as stored, within the same request. Without a
    ``recipient`` (a caller with no verified address), ``reminderEnabled: true`` is accepted only
    when the reminder is on already, with the address it has (a client sending back a task it
    read); otherwise the update is refused (ReminderNeedsAddress).
    """
    enabled = changes.get("reminder_enabled", _ABSENT)
    at = changes.get("reminder_at", _ABSENT)
    due = changes.get("due_date", _ABSENT)
    if enabled is False:
        return [Task.remind_to.remove(), Task.remind_bucket.remove()], None, None
    if enabled is _ABSENT and at is _ABSENT and due is _ABSENT:
        return [], None, None
    actions = [Task.remind_tries.remove()]
    address = None
    if enabled is True and recipient is None:
        address = Task.remind_to.exists()
    elif enabled is True:
        actions += [
            Task.remind_to.set(recipient.address),
            Task.remind_link.set(recipient.link),
        ]
    moment = at if at not in (None, _ABSENT) else due if at is None else None
    if moment not in (None, _ABSENT):
        actions.append(Task.remind_bucket.set(reminder_bucket(max(moment, stamp))))
    else:
        actions.append(Task.remind_bucket.set(reminder_bucket(stamp)))
    has_time = _has_time(enabled, at, due)
    if address is None:
        return actions, has_time, _refused_for_time
    return actions, address if has_time is None else address & has_time, _refused


def _refused_for_time(item: dict) -> Exception:
    return ReminderNeedsTime()


def _refused(item: dict) -> Exception:
    """An update that enabled the reminder without an address failed: which condition did."""
    if Task.remind_to.attr_name not in item:
        return ReminderNeedsAddress()
    return ReminderNeedsTime()


def _has_time(enabled, at, due):
    """The condition that an enabled reminder keeps a time, or None when the request ensures it."""
    if at not in (None, _ABSENT) or due not in (None, _ABSENT):
        return None
    kept = [
        attribute.exists()
        for attribute, value in ((Task.reminder_at, at), (Task.due_date, due))
        if value is _ABSENT
    ]
    has_time = kept[0] | kept[1] if len(kept) == 2 else kept[0] if kept else None
    if enabled is True:
        # The schema refuses reminderEnabled true with both times null in one body.
        return has_time
    off = Task.reminder_enabled.does_not_exist() | (Task.reminder_enabled == False)  # noqa: E712
    return off if has_time is None else off | has_time


def read_cursor() -> str | None:
    with translated_errors():
        try:
            return ReminderProgress.get(
                "scheduler#reminders", "progress", consistent_read=True
            ).cursor
        except ReminderProgress.DoesNotExist:
            return None


def save_cursor(cursor: str, stamp: datetime) -> None:
    with translated_errors():
        ReminderProgress(cursor=cursor, finished_at=format_timestamp(stamp)).save()


def start_reminders_now() -> None:
    """Have the scheduler start at the current minute (for a table just made)."""
    stamp = now()
    save_cursor(reminder_bucket(stamp), stamp)


def filed_in(bucket: str):
    """The tasks filed under ``bucket``, as the index shows them (possibly a moment stale)."""
    with translated_errors():
        yield from Task.reminder_index.query(bucket)


def reminder_time(task: Task) -> datetime | None:
    return task.reminder_at or task.due_date


def _timed_as(task: Task):
    """The condition that the task's reminder time is still the one ``task`` shows."""
    if task.reminder_at is not None:
        return Task.reminder_at == task.reminder_at
    return Task.reminder_at.does_not_exist() & (Task.due_date == task.due_date)


def _as_seen(task: Task, bucket: str):
    """The condition that the task is still filed and timed as the index showed it."""
    return (Task.remind_bucket == bucket) & Task.remind_to.exists() & _timed_as(task)


def _unclaimed(stamp: datetime):
    return Task.remind_lease.does_not_exist() | (Task.remind_lease < format_timestamp(stamp))


def claim(task: Task, bucket: str, stamp: datetime, lease: timedelta) -> Task | None:
    """Take the reminder for ``lease``; returns the whole task, or None if another run has it,
    it was handled already, or the task changed since the index showed it."""
    moment = format_timestamp(reminder_time(task))
    condition = (
        _as_seen(task, bucket)
        & (Task.status == "pending")
        & (Task.remind_done.does_not_exist() | (Task.remind_done != moment))
        & _unclaimed(stamp)
    )
    claimed = Task(task.partition, task.task_id)
    if not _update(claimed, [Task.remind_lease.set(format_timestamp(stamp + lease))], condition):
        return None
    return claimed


def finish(task: Task, bucket: str, outcome: str, stamp: datetime, claimed: Task | None = None):
    """Record that the reminder at the task's time was sent, missed, cancelled or failed.

    Without a claim, on the condition that the task is as the index showed it and unclaimed;
    with ``claimed`` (what ``claim`` returned), on the condition that this run still holds the
    lease and the time is unchanged, wherever an edit meanwhile filed the task. Returns whether
    it was recorded.
    """
    actions = [
        Task.remind_done.set(format_timestamp(reminder_time(task))),
        Task.remind_outcome.set(outcome),
        Task.remind_lease.remove(),
        Task.remind_tries.remove(),
    ]
    return _update(
        Task(task.partition, task.task_id), actions, _still(task, bucket, stamp, claimed)
    )


def refile(task: Task, bucket: str, later: str, stamp: datetime, claimed=None, tries=None) -> bool:
    """File the reminder under the minute ``later`` (its time, or a retry's), releasing a claim."""
    actions = [Task.remind_bucket.set(later), Task.remind_lease.remove()]
    if tries is not None:
        actions.append(Task.remind_tries.set(tries))
    return _update(
        Task(task.partition, task.task_id), actions, _still(task, bucket, stamp, claimed)
    )


def _still(task: Task, bucket: str, stamp: datetime, claimed: Task | None):
    if claimed is None:
        return _as_seen(task, bucket) & _unclaimed(stamp)
    return (Task.remind_lease == claimed.remind_lease) & _timed_as(task)


def _update(task: Task, actions, condition) -> bool:
    with translated_errors():
        try:
            task.update(actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
    return True
