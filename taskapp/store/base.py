"""What every room of the store shares: its errors, its settings, DynamoDB's errors translated."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from ..models import Task

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


class SyncTokenExpired(Exception):
    """The sync token is older than the tombstones are kept: the client must start again."""


class InvalidSyncToken(Exception):
    """The sync token is well formed but is not one this API gave this caller."""


class TableMismatch(Exception):
    """The table exists with other keys or indexes than this release's model."""


class Settings:
    """The change feed's two periods (SPEC section 9); configure() sets them from the app."""

    # How long tombstones are kept, and so how old a sync token may be.
    retention = timedelta(days=30)
    # How long after a write is stamped it may still commit (the function's timeout, with room):
    # the change feed reads that far back, so a slow write is never skipped.
    settle = timedelta(seconds=60)


def configure(config) -> None:
    Settings.retention = timedelta(seconds=config["SYNC_RETENTION_SECONDS"])
    # A token resumes `settle` back and lives until its position is `retention` old: a short
    # retention (in a test, say) shortens the settle period so that tokens live at all.
    Settings.settle = min(timedelta(seconds=config["SYNC_SETTLE_SECONDS"]), Settings.retention / 2)


def now() -> datetime:
    """The time of a write or a read, to the millisecond that the table stores."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def check_task_id(task_id: str) -> None:
    """Only the canonical form of a UUID can name a task; anything else names none."""
    try:
        canonical = str(UUID(task_id))
    except ValueError:
        raise TaskNotFound from None
    if canonical != task_id:
        raise TaskNotFound


def connection():
    return Task._get_connection().connection


@contextmanager
def translated_errors(if_match=None):
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
            if if_match is not None and _failed_item_is_live(error):
                raise PreconditionFailed from error
            raise TaskNotFound from error
        if code in _UNAVAILABLE_CODES:
            raise StoreUnavailable from error
        raise


def _failed_item_is_live(error: PynamoDBException) -> bool:
    """Whether the item a failed conditional write addressed is a live task.

    Writes ask DynamoDB to return the item when their condition fails (see
    ask_for_item_on_condition_failure), which tells a stale If-Match (412) from a missing or
    deleted task (404) in the same single request. PynamoDB keeps only the error code, so the
    item is read from the botocore error it wraps.
    """
    botocore_error = error.cause.__cause__ if error.cause is not None else None
    item = getattr(botocore_error, "response", {}).get("Item")
    return bool(item) and Task.deleted_at.attr_name not in item


def ask_for_item_on_condition_failure() -> None:
    """Have UpdateItem return the item when its condition fails."""
    connection().client.meta.events.register(
        "before-parameter-build.dynamodb.UpdateItem",
        _return_item_on_condition_failure,
        unique_id="taskapp-return-item-UpdateItem",
    )


def _return_item_on_condition_failure(params, **_):
    params.setdefault("ReturnValuesOnConditionCheckFailure", "ALL_OLD")
