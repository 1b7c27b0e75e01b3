"""What every room of the store shares: its errors, its settings, DynamoDB's errors translated."""

import weakref
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
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
# DynamoDB's answers that no retry will change: the credentials or the table are wrong.
_REFUSED_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
    # A refusal whose body botocore could not read (an IAM-style XML error) is coded by its
    # HTTP status alone.
    "403",
}


class TaskNotFound(Exception):
    """No task of this owner has this taskId."""


class PreconditionFailed(Exception):
    """The task exists, but not at a version the caller's If-Match names."""


class StoreUnavailable(Exception):
    """DynamoDB throttled the request or could not be reached; nothing was written."""


class StoreMisconfigured(Exception):
    """DynamoDB cannot work as configured, and retrying will not help: no credentials, a table
    that does not exist where the settings point, credentials refused. The message is one
    sentence that says what to set."""


class TaskLimitReached(Exception):
    """The owner has as many live tasks as one owner may keep."""


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
    # How many live tasks one owner may keep.
    tasks_per_owner = 100_000


def configure(config) -> None:
    Settings.tasks_per_owner = config["TASKS_PER_OWNER"]
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
def translated_errors(if_match=None, refused=None):
    """Around every request the store sends: prepares the client (see _prepare) and turns
    PynamoDB's and botocore's errors into the store's own; anything unforeseen propagates.

    A write's failed condition is a TaskNotFound when the task is missing or deleted, a
    PreconditionFailed when its version is not one that ``if_match`` accepts, and otherwise
    what ``refused(item)`` makes of the task as stored: the write's own condition on the task's
    fields failed.
    """
    _prepare(connection().client)
    try:
        yield
    except PynamoDBException as error:
        cause = error.cause
        if isinstance(cause, ClientError):
            code = _code(cause)
            if code == "ConditionalCheckFailedException":
                item = _failed_item(error)
                if not item or Task.deleted_at.attr_name in item:
                    raise TaskNotFound from error
                if if_match is not None and int(item["version"]["N"]) not in if_match:
                    raise PreconditionFailed from error
                raise (refused(item) if refused else TaskNotFound()) from error
            _raise_translated(code, error)
            raise
        # No answer at all: refused, timed out, cut. (Such causes may carry a None response,
        # which PynamoDB's cause_response_code cannot read.)
        _raise_translated(None, cause if cause is not None else error)
        raise StoreUnavailable from error
    except ClientError as error:
        # Calls that PynamoDB does not wrap: describe_table, the TTL settings.
        _raise_translated(_code(error), error)
        raise
    except BotoCoreError as error:
        _raise_translated(None, error)
        raise StoreUnavailable from error


def _raise_translated(code, error) -> None:
    if isinstance(error, NoCredentialsError) or isinstance(error.__cause__, NoCredentialsError):
        raise StoreMisconfigured(
            "No AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(any values will do for DynamoDB Local) or AWS_PROFILE."
        ) from error
    if code == "ResourceNotFoundException":
        raise StoreMisconfigured(
            f"Table {Task.Meta.table_name} does not exist {_where()}: create it with "
            "`flask create-table`, or set TABLE_NAME, AWS_REGION or DYNAMODB_ENDPOINT to "
            "where it is."
        ) from error
    if code in _REFUSED_CODES:
        raise StoreMisconfigured(
            f"DynamoDB refused the credentials ({code}) {_where()}: check "
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and that they may use "
            f"table {Task.Meta.table_name}."
        ) from error
    if code in _UNAVAILABLE_CODES:
        raise StoreUnavailable from error


def _code(error: ClientError) -> str | None:
    return (error.response or {}).get("Error", {}).get("Code")


def _where() -> str:
    host = getattr(Task.Meta, "host", None)
    return f"at {host}" if host else f"in region {Task.Meta.region}"


def _failed_item(error: PynamoDBException) -> dict | None:
    """The item a failed conditional write addressed, as DynamoDB returned it.

    Writes ask DynamoDB to return the item when their condition fails (see _prepare), which
    tells a stale If-Match (412) from a missing or deleted task (404) in the same single request.
    PynamoDB keeps only the error code, so the item is read from the botocore error it wraps.
    """
    botocore_error = error.cause.__cause__ if error.cause is not None else None
    return getattr(botocore_error, "response", {}).get("Item")


# The clients _prepare has prepared: PynamoDB makes a new one when it finds no credentials.
_prepared = weakref.WeakSet()


def _prepare(client) -> None:
    """What the store asks of DynamoDB beyond what PynamoDB asks, once per client:

    - UpdateItem returns the item when its condition fails (see _failed_item);
    - no request asks for its consumed capacity, which PynamoDB asks for on every request only
      to log it at debug level (tools/meter.py asks for it again where it is counted).
    """
    if client in _prepared:
        return
    events = client.meta.events
    events.register_first(
        "before-parameter-build.dynamodb.UpdateItem",
        _return_item_on_condition_failure,
        unique_id="taskapp-return-item-UpdateItem",
    )
    events.register_first(
        "before-parameter-build.dynamodb",
        _without_consumed_capacity,
        unique_id="taskapp-without-consumed-capacity",
    )
    _prepared.add(client)


def _return_item_on_condition_failure(params, **_):
    params.setdefault("ReturnValuesOnConditionCheckFailure", "ALL_OLD")


def _without_consumed_capacity(params, **_):
    if "ReturnConsumedCapacity" in params:
        params["ReturnConsumedCapacity"] = "NONE"
