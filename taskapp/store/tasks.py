"""Single tasks: one DynamoDB request per operation, conditions on the write itself."""

import hashlib
import json
import random
import time
from datetime import timedelta

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite
from uuid6 import uuid7

from ..models import (
    DECIMAL,
    DUE_BASES,
    IdempotencyRecord,
    Task,
    Usage,
    change_key,
    due_position,
    idempotency_partition,
    status_key,
    task_partition,
    usage_partition,
)
from .base import (
    IdempotencyKeyReused,
    PreconditionFailed,
    Settings,
    StoreUnavailable,
    TaskLimitReached,
    TaskNotFound,
    check_task_id,
    connection,
    now,
    translated_errors,
)
from .reminders import Recipient, arm_created, update_actions

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# How often a transaction that DynamoDB cancelled for a conflict is tried.
_TRANSACTION_ATTEMPTS = 5
# Index keys: an idempotency record keeps the task without them (a replay only answers it).
_INDEX_KEYS = ("pk", "statusKey", "dueBase", "duePos", "dueKey", "changeKey") + (
    "remindBucket",
    "remindTo",
    "remindLink",
)
# Fields added after idempotency records were first written, with their defaults.
_ADDED_DEFAULTS = {"reminder_enabled": False, "reminder_at": None}
# What a tombstone keeps of a task: its keys, version, deletedAt, changeKey and expiresAt.
_CLEARED_ON_DELETE = (
    Task.title,
    Task.description,
    Task.status,
    Task.priority,
    Task.category,
    Task.tags,
    Task.due_date,
    Task.created_at,
    Task.updated_at,
    Task.completed_at,
    Task.reminder_enabled,
    Task.reminder_at,
    # Out of the reminder index, and the owner's address gone; the scheduler's small records
    # (remindLink, remindDone, ...) go with the tombstone's TTL.
    Task.remind_bucket,
    Task.remind_to,
    Task.status_key,
    Task.due_base,
    Task.due_pos,
    Task.due_key,
)


def create_task(
    owner: str, fields: dict, idempotency_key=None, recipient: Recipient | None = None
) -> tuple[Task, bool]:
    """Create a task; returns it and whether it is the replay of an earlier create.

    One transaction writes the task and adds it to the owner's count, on the condition that
    the count is under the limit. With an idempotency key, the key's record is written in it
    too, so a retry with the same key and body finds the record and answers the task it made.
    ``recipient`` is where an enabled reminder goes.
    """
    stamp = now()
    task = Task(
        task_partition(owner), str(uuid7()), created_at=stamp, updated_at=stamp, version=1, **fields
    )
    task.completed_at = stamp if task.status == "completed" else None
    task.set_index_keys()
    arm_created(task, stamp, recipient)
    record = None
    if idempotency_key is not None:
        record = IdempotencyRecord(
            idempotency_partition(owner),
            idempotency_key,
            request_hash=_request_hash(fields),
            task=_compact(task),
            expires_at=IDEMPOTENCY_WINDOW,
        )
    return _create_once(owner, task, record)


def _create_once(owner: str, task: Task, record) -> tuple[Task, bool]:
    # TTL deletes within days, not at once: an expired record counts as absent.
    fresh = IdempotencyRecord.key.does_not_exist() | (IdempotencyRecord.expires_at < now())
    for attempt in range(_TRANSACTION_ATTEMPTS):
        try:
            with translated_errors(), TransactWrite(connection=connection()) as transaction:
                if record is not None:
                    transaction.save(record, condition=fresh, return_values=ALL_OLD)
                transaction.save(task, condition=Task.task_id.does_not_exist())
                _count(transaction, owner, 1)
            return task, False
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            first, last = (reasons[0], reasons[-1]) if reasons else (None, None)
            if record is not None and _failed(first) and first.raw_item:
                earlier = IdempotencyRecord.from_raw_data(first.raw_item)
                if earlier.request_hash != record.request_hash:
                    raise IdempotencyKeyReused from None
                return Task.from_raw_data(json.loads(earlier.task)), True
            if _failed(last):
                raise TaskLimitReached(Settings.tasks_per_owner) from None
            if not any(r is not None and r.code == "TransactionConflict" for r in reasons):
                raise StoreUnavailable from error
        # Racing first uses of one Idempotency-Key, or an owner's creates and deletes racing
        # for the count: DynamoDB cancels all but one transaction.
        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise StoreUnavailable


def _count(transaction: TransactWrite, owner: str, change: int) -> None:
    """Add ``change`` to the owner's count of live tasks; an addition must stay in the limit."""
    usage = Usage(usage_partition(owner))
    condition = None
    if change > 0:
        limit = Settings.tasks_per_owner - change
        condition = Usage.live.does_not_exist() | (Usage.live <= limit)
    transaction.update(usage, [Usage.live.add(change)], condition=condition)


def _failed(reason) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


def _compact(task: Task) -> str:
    item = task.serialize()
    kept = {name: value for name, value in item.items() if name not in _INDEX_KEYS}
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def _request_hash(fields: dict) -> str:
    """The same request body, whatever its key order or spacing, hashes the same.

    Fields that a release added hash as before while they keep their defaults, so that a retry
    across an upgrade still matches its record.
    """
    kept = {
        name: value
        for name, value in fields.items()
        if name not in _ADDED_DEFAULTS or value != _ADDED_DEFAULTS[name]
    }
    canonical = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def ping() -> None:
    """The cheapest read of the table there is (an eventually consistent GetItem of a key no
    item has: half a read unit); raises as any read would when DynamoDB does not answer."""
    with translated_errors():
        try:
            Task.get("health#", "check")
        except DoesNotExist:
            pass


def get_task(owner: str, task_id: str) -> Task:
    check_task_id(task_id)
    with translated_errors():
        try:
            task = Task.get(task_partition(owner), task_id, consistent_read=True)
        except DoesNotExist:
            raise TaskNotFound from None
    if task.is_tombstone:
        raise TaskNotFound
    return task


def update_task(
    owner: str, task_id: str, changes: dict, if_match=None, recipient: Recipient | None = None
) -> Task:
    """Apply the fields present in ``changes``; a None clears a field.

    ``if_match`` is None for an unconditional write, or the versions the caller accepts.
    ``recipient`` is where the reminder goes when ``changes`` enables it.
    """
    check_task_id(task_id)
    stamp = now()
    actions = [
        getattr(Task, name).remove() if value is None else getattr(Task, name).set(value)
        for name, value in changes.items()
    ]
    status = changes.get("status")
    if status is not None:
        actions.append(Task.status_key.set(status_key(status, task_id)))
    if status == "completed":
        # Kept when the task was already completed: completedAt records the transition.
        actions.append(Task.completed_at.set(Task.completed_at | stamp))
    elif status == "pending":
        actions.append(Task.completed_at.remove())
    actions += _due_key_actions(task_id, status, changes)
    reminder, reminder_condition, refusal = update_actions(changes, stamp, recipient)
    actions += reminder
    actions += [
        Task.updated_at.set(stamp),
        Task.change_key.set(change_key(stamp, task_id)),
        Task.version.add(1),
    ]
    task = Task(task_partition(owner), task_id)
    condition = _write_condition(if_match)
    if reminder_condition is not None:
        condition &= reminder_condition
    with translated_errors(if_match, refused=refusal):
        task.update(actions, condition=condition)
    return task


def _due_key_actions(task_id: str, status, changes: dict) -> list:
    """Move the task in the due index without reading it: the key is dueBase + duePos."""
    if "due_date" in changes:
        position = due_position(changes["due_date"], task_id)
        if status is None:
            return [Task.due_pos.set(position), Task.due_key.set(Task.due_base + position)]
        base = DUE_BASES[status]
        return [
            Task.due_pos.set(position),
            Task.due_base.set(base),
            Task.due_key.set(DECIMAL.add(base, position)),
        ]
    if status is not None:
        base = DUE_BASES[status]
        return [Task.due_base.set(base), Task.due_key.set(Task.due_pos + base)]
    return []


def delete_task(owner: str, task_id: str, if_match=None) -> None:
    """Turn the task into a tombstone that the change feed serves until DynamoDB's TTL ends it,
    and take it off the owner's count, in one transaction."""
    check_task_id(task_id)
    stamp = now()
    actions = [attribute.remove() for attribute in _CLEARED_ON_DELETE] + [
        Task.deleted_at.set(stamp),
        Task.expires_at.set(Settings.retention),
        Task.change_key.set(change_key(stamp, task_id)),
        Task.version.add(1),
    ]
    task = Task(task_partition(owner), task_id)
    condition = _write_condition(if_match)
    for attempt in range(_TRANSACTION_ATTEMPTS):
        try:
            with translated_errors(), TransactWrite(connection=connection()) as transaction:
                transaction.update(task, actions, condition=condition, return_values=ALL_OLD)
                _count(transaction, owner, -1)
            return
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            first = reasons[0] if reasons else None
            if _failed(first):
                # The item, returned when the condition failed: a stale If-Match on a live task
                # is a 412; no task, or a tombstone, is a 404.
                live = first.raw_item and Task.deleted_at.attr_name not in first.raw_item
                stale = live and if_match is not None
                raise (PreconditionFailed if stale else TaskNotFound) from None
            if not any(r is not None and r.code == "TransactionConflict" for r in reasons):
                raise StoreUnavailable from error
        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise StoreUnavailable


def _write_condition(if_match):
    condition = Task.task_id.exists() & Task.deleted_at.does_not_exist()
    if if_match is None:
        return condition
    if not if_match:
        # No version can match (If-Match named none that this API makes): always fails.
        return condition & Task.task_id.does_not_exist()
    return condition & Task.version.is_in(*if_match)
