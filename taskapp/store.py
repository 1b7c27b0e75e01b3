"""Task storage: one DynamoDB request per operation, conditions on the write itself.

The store knows nothing of HTTP: it raises TaskNotFound, PreconditionFailed and
StoreUnavailable, and errors.py maps them to statuses.
"""

import hashlib
import json
import random
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

from botocore.exceptions import ClientError
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite
from uuid6 import uuid7

from .models import IdempotencyRecord, Task

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# Racing first uses of one Idempotency-Key: DynamoDB cancels all but one transaction.
_TRANSACTION_ATTEMPTS = 5

# DynamoDB's answers that mean "try again later" rather than "your request is wrong".
_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
}


class TaskNotFound(Exception):
    """No task of this owner has this taskId."""


class PreconditionFailed(Exception):
    """The task exists, but not at a version the caller's If-Match names."""


class StoreUnavailable(Exception):
    """DynamoDB throttled the request or could not be reached; nothing was written."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was first used with another request body."""


def create_task(owner: str, fields: dict, idempotency_key=None) -> tuple[Task, bool]:
    """Create a task; returns it and whether it is the replay of an earlier create.

    With an idempotency key, the task and the key's record are written in one transaction,
    so a retry with the same key and body finds the record and answers the task it made.
    """
    now = _now()
    task = Task(owner, str(uuid7()), created_at=now, updated_at=now, version=1, **fields)
    task.status_key = Task.status_key_for(task.status, task.task_id)
    task.completed_at = now if task.status == "completed" else None
    if idempotency_key is None:
        with _translated_errors():
            task.save(condition=Task.task_id.does_not_exist())
        return task, False
    return _create_once(task, idempotency_key, _request_hash(fields))


def _create_once(task: Task, key: str, request_hash: str) -> tuple[Task, bool]:
    record = IdempotencyRecord(
        IdempotencyRecord.partition_for(task.owner),
        key,
        request_hash=request_hash,
        task=json.dumps(task.serialize()),
        expires_at=IDEMPOTENCY_WINDOW,
    )
    # TTL deletes within days, not at once: an expired record counts as absent.
    fresh = IdempotencyRecord.key.does_not_exist() | (IdempotencyRecord.expires_at < _now())
    for attempt in range(_TRANSACTION_ATTEMPTS):
        try:
            with _translated_errors(), TransactWrite(connection=_connection()) as transaction:
                transaction.save(record, condition=fresh, return_values=ALL_OLD)
                transaction.save(task, condition=Task.task_id.does_not_exist())
            return task, False
        except TransactWriteError as error:
            reasons = error.cancellation_reasons
            first = reasons[0] if reasons else None
            if first is not None and first.code == "ConditionalCheckFailed" and first.raw_item:
                earlier = IdempotencyRecord.from_raw_data(first.raw_item)
                if earlier.request_hash != request_hash:
                    raise IdempotencyKeyReused from None
                return Task.from_raw_data(json.loads(earlier.task)), True
            if not any(r is not None and r.code == "TransactionConflict" for r in reasons):
                raise StoreUnavailable from error
        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise StoreUnavailable


def _request_hash(fields: dict) -> str:
    """The same request body, whatever its key order or spacing, hashes the same."""
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _connection():
    return Task._get_connection().connection


def get_task(owner: str, task_id: str) -> Task:
    _check_task_id(task_id)
    with _translated_errors():
        try:
            return Task.get(owner, task_id, consistent_read=True)
        except DoesNotExist:
            raise TaskNotFound from None


def update_task(owner: str, task_id: str, changes: dict, if_match=None) -> Task:
    """Apply the fields present in ``changes``; a None clears a field.

    ``if_match`` is None for an unconditional write, or the versions the caller accepts.
    """
    _check_task_id(task_id)
    now = _now()
    actions = [
        getattr(Task, name).remove() if value is None else getattr(Task, name).set(value)
        for name, value in changes.items()
    ]
    status = changes.get("status")
    if status is not None:
        actions.append(Task.status_key.set(Task.status_key_for(status, task_id)))
    if status == "completed":
        # Kept when the task was already completed: completedAt records the transition.
        actions.append(Task.completed_at.set(Task.completed_at | now))
    elif status == "pending":
        actions.append(Task.completed_at.remove())
    actions += [Task.updated_at.set(now), Task.version.add(1)]

    task = Task(owner, task_id)
    _ask_for_item_on_condition_failure()
    with _translated_errors(if_match):
        task.update(actions, condition=_write_condition(if_match))
    return task


def delete_task(owner: str, task_id: str, if_match=None) -> None:
    _check_task_id(task_id)
    _ask_for_item_on_condition_failure()
    with _translated_errors(if_match):
        Task(owner, task_id).delete(condition=_write_condition(if_match))


def list_tasks(owner: str, limit: int, status=None, after=None) -> tuple[list[Task], str | None]:
    """One page of the owner's tasks, newest first, and the taskId to continue after.

    One strongly consistent Query reads at most limit + 1 items, so a page costs the same
    whatever the table holds, and the extra item tells whether another page exists.
    """
    options = {
        "scan_index_forward": False,
        "consistent_read": True,
        "limit": limit + 1,
        "page_size": limit + 1,
    }
    if after is not None:
        _check_task_id(after)
        options["last_evaluated_key"] = _start_key(owner, after, status)
    with _translated_errors():
        if status is None:
            query = Task.query(owner, **options)
        else:
            prefix = Task.status_key_for(status, "")
            query = Task.status_index.query(owner, Task.status_key.startswith(prefix), **options)
        tasks = list(query)
    if len(tasks) <= limit:
        return tasks, None
    return tasks[:limit], tasks[limit - 1].task_id


def ensure_table() -> bool:
    """Create the table with its index unless it exists, and have its TTL on.

    Returns True when this call created the table. TTL is read before it is set, because
    DynamoDB refuses to enable it twice (PynamoDB's create_table would try every time).
    """
    created = False
    with _translated_errors():
        if not Task.exists():
            try:
                Task.create_table(wait=True)
                created = True
            except PynamoDBException as error:
                # Another process created it between our check and our request.
                if error.cause_response_code != "ResourceInUseException":
                    raise
        client = _connection().client
        table = Task.Meta.table_name
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl["TimeToLiveStatus"] not in ("ENABLED", "ENABLING"):
            attribute = IdempotencyRecord.expires_at.attr_name
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
            )
    return created


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _check_task_id(task_id: str) -> None:
    """Only the canonical form of a UUID can name a task; anything else names none."""
    try:
        canonical = str(UUID(task_id))
    except ValueError:
        raise TaskNotFound from None
    if canonical != task_id:
        raise TaskNotFound


def _start_key(owner: str, after: str, status) -> dict:
    """The DynamoDB key a page starts after: the item's keys, and the index's when filtered."""
    key = {Task.owner.attr_name: {"S": owner}, Task.task_id.attr_name: {"S": after}}
    if status is not None:
        key[Task.status_key.attr_name] = {"S": Task.status_key_for(status, after)}
    return key


def _write_condition(if_match):
    condition = Task.task_id.exists()
    if if_match is None:
        return condition
    if not if_match:
        # No version can match (If-Match named none that this API makes): always fails.
        return condition & Task.task_id.does_not_exist()
    return condition & Task.version.is_in(*if_match)


@contextmanager
def _translated_errors(if_match=None):
    """Turns PynamoDB's errors into the store's own; anything unforeseen propagates."""
    try:
        yield
    except PynamoDBException as error:
        if not isinstance(error.cause, ClientError):
            # No answer at all: refused, timed out, cut. (Such causes may carry a None
            # response, which PynamoDB's cause_response_code cannot read.)
            raise StoreUnavailable from error
        code = error.cause_response_code
        if code == "ConditionalCheckFailedException":
            if if_match is not None and _failed_item_exists(error):
                raise PreconditionFailed from error
            raise TaskNotFound from error
        if code in _UNAVAILABLE_CODES:
            raise StoreUnavailable from error
        raise


def _failed_item_exists(error: PynamoDBException) -> bool:
    """Whether the item a failed conditional write addressed exists.

    Writes ask DynamoDB to return the item when their condition fails (see
    _ask_for_item_on_condition_failure), which tells a stale If-Match (412) from a missing
    task (404) in the same single request. PynamoDB keeps only the error code, so the item
    is read from the botocore error it wraps.
    """
    botocore_error = error.cause.__cause__ if error.cause is not None else None
    return bool(getattr(botocore_error, "response", {}).get("Item"))


def _ask_for_item_on_condition_failure() -> None:
    """Have UpdateItem and DeleteItem return the item when their condition fails."""
    events = Task._get_connection().connection.client.meta.events
    for operation in ("UpdateItem", "DeleteItem"):
        events.register(
            f"before-parameter-build.dynamodb.{operation}",
            _return_item_on_condition_failure,
            unique_id=f"taskapp-return-item-{operation}",
        )


def _return_item_on_condition_failure(params, **_):
    params.setdefault("ReturnValuesOnConditionCheckFailure", "ALL_OLD")
