"""Every error the API answers, shaped as SPEC.md section 3 says: {"error", "details"}."""

from flask import current_app, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest, HTTPException

from .auth import AuthUnavailable, Unauthenticated
from .logging import log_error, request_id
from .schemas import REMINDER_NEEDS_ADDRESS, REMINDER_NEEDS_TIME
from .store import (
    IdempotencyKeyReused,
    InvalidSyncToken,
    PreconditionFailed,
    ReminderNeedsAddress,
    ReminderNeedsTime,
    StoreMisconfigured,
    StoreUnavailable,
    SyncTokenExpired,
    TaskLimitReached,
    TaskNotFound,
)

# Sentences for the HTTP errors Flask raises itself; others keep werkzeug's description.
_HTTP_MESSAGES = {
    404: "Resource not found",
    405: "Method not allowed",
}
# How long a client should wait before retrying when DynamoDB is throttled or unreachable.
RETRY_AFTER_SECONDS = 1


UNKNOWN_PARAMETER = "Unknown parameter."


class InvalidBody(BadRequest):
    description = "Request body must be a JSON object"

    def __init__(self, details=None):
        super().__init__()
        self.details = details


def register_errorhandlers(app):
    """Route every failure through one JSON shape; replaces flask-smorest's own handler."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(TaskNotFound, handle_task_not_found)
    app.register_error_handler(TaskLimitReached, handle_task_limit_reached)
    app.register_error_handler(PreconditionFailed, handle_precondition_failed)
    app.register_error_handler(ReminderNeedsTime, handle_reminder_refused)
    app.register_error_handler(ReminderNeedsAddress, handle_reminder_refused)
    app.register_error_handler(IdempotencyKeyReused, handle_idempotency_key_reused)
    app.register_error_handler(SyncTokenExpired, handle_sync_token_expired)
    app.register_error_handler(InvalidSyncToken, handle_invalid_sync_token)
    app.register_error_handler(StoreUnavailable, handle_store_unavailable)
    app.register_error_handler(StoreMisconfigured, handle_store_misconfigured)
    app.register_error_handler(Unauthenticated, handle_unauthenticated)
    app.register_error_handler(AuthUnavailable, handle_auth_unavailable)
    app.register_error_handler(Exception, handle_unexpected_error)


def error_response(status, message, details=None, headers=None):
    body = {"error": message}
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.headers.extend(headers or {})
    return response


def handle_http_exception(error):
    if error.code is None:
        # abort(Response): a response built on purpose, such as a 304.
        return error
    if error.code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // 1024
        message = f"Request body must not be larger than {limit} KiB"
    else:
        message = _HTTP_MESSAGES.get(error.code, error.description)
    # Keeps the headers the error carries, such as Allow on a 405.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return error_response(error.code, message, getattr(error, "details", None), headers)


def handle_validation_error(error):
    details = {field: _flatten(messages) for field, messages in _by_field(error.messages).items()}
    return error_response(400, _first_sentence(details), details)


def handle_task_not_found(error):
    return error_response(404, "Task not found")


def handle_task_limit_reached(error):
    (limit,) = error.args
    return error_response(
        403, f"You have {limit:,} tasks, the most one account may keep: delete some to add more"
    )


def handle_reminder_refused(error):
    # An update whose condition found, on the stored task, a reminder without a time or without
    # an address.
    message = (
        REMINDER_NEEDS_TIME if isinstance(error, ReminderNeedsTime) else REMINDER_NEEDS_ADDRESS
    )
    return handle_validation_error(ValidationError({"reminderAt": [message]}))


def handle_precondition_failed(error):
    return error_response(
        412, "The task has changed since that ETag: read it again and retry with its new ETag"
    )


def handle_idempotency_key_reused(error):
    return error_response(
        422, "This Idempotency-Key was already used with a different request body"
    )


def handle_sync_token_expired(error):
    return error_response(410, "Sync token expired; sync again from the start")


def handle_invalid_sync_token(error):
    message = "since is not a sync token this API returned"
    return error_response(400, message, {"since": [message]})


def handle_store_unavailable(error):
    log_error("DynamoDB unavailable", error)
    return _retry_later("The task store is busy or unreachable; nothing was changed")


def handle_store_misconfigured(error):
    # Not an outage that a retry outlives: a 500 for the caller, the sentence for the team.
    return _internal_error(f"DynamoDB misconfigured: {error}", error, traceback=False)


def handle_unauthenticated(error):
    # RFC 6750: a token that was sent and refused is an invalid_token.
    challenge = 'Bearer realm="taskapp"'
    if error.presented:
        challenge += ', error="invalid_token"'
    return error_response(401, error.message, headers={"WWW-Authenticate": challenge})


def handle_auth_unavailable(error):
    log_error("Token keys unavailable", error)
    return _retry_later("Credentials cannot be checked right now; nothing was changed")


def _retry_later(reason):
    return error_response(
        503, f"{reason}. Retry shortly", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def handle_unexpected_error(error):
    return _internal_error("Unexpected error", error)


def _internal_error(message, error, traceback=True):
    log_error(message, error, traceback)
    response = jsonify({"error": "Internal server error", "requestId": request_id()})
    response.status_code = 500
    return response


def _by_field(messages):
    # A schema-level error (no single field) is keyed "_schema" by marshmallow.
    return messages if isinstance(messages, dict) else {"_schema": messages}


def _flatten(messages):
    """marshmallow nests list items' messages by index; clients get one flat list per field."""
    if isinstance(messages, dict):
        flat = [text for nested in messages.values() for text in _flatten(nested)]
        return list(dict.fromkeys(flat))
    return list(messages)


def _first_sentence(details):
    field, messages = next(iter(details.items()))
    message = messages[0]
    if message == "Unknown field.":
        return f'Unknown field "{field}"'
    if message == UNKNOWN_PARAMETER:
        return f'Unknown query parameter "{field}"'
    return message
