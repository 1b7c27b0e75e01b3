"""The tasks blueprint: thin views that parse, make one store call and shape the answer."""

from flask import Response, abort, request, url_for
from marshmallow import ValidationError
from werkzeug.http import parse_etags

from . import apidoc as doc
from . import store
from .auth import authenticate, current_email, current_owner
from .cursors import filters_digest
from .errors import UNKNOWN_PARAMETER
from .extensions import Blueprint
from .schemas import (
    REMINDER_NEEDS_ADDRESS,
    ChangesQuerySchema,
    ChangesSchema,
    IdempotencyHeadersSchema,
    TaskDeletedSchema,
    TaskInputSchema,
    TaskListQuerySchema,
    TaskListSchema,
    TaskMessageSchema,
    TaskResponseSchema,
    TaskUpdateSchema,
)

blp = Blueprint("tasks", __name__, url_prefix="/tasks", description="Tasks of the caller.")
# Arguments take schema instances: webargs would build one from a class on every request.
blp.before_request(authenticate)

# The views whose query strings a schema reads (and checks); the others take none.
_QUERY_VIEWS = {"tasks.list_tasks", "tasks.list_changes"}


@blp.before_request
def refuse_query_parameters():
    """A parameter where none is read is a mistake to report, not to ignore."""
    if request.args and request.method != "OPTIONS" and request.endpoint not in _QUERY_VIEWS:
        raise ValidationError({name: [UNKNOWN_PARAMETER] for name in request.args})


# DynamoDB accepts at most 100 values in an IN condition, and numbers of at most 38 digits.
_MAX_IF_MATCH_TAGS = 100
_MAX_VERSION_DIGITS = 18


@blp.route("", methods=["POST"])
@blp.arguments(TaskInputSchema(), example=doc.NEW_TASK)
@blp.arguments(IdempotencyHeadersSchema(), location="headers")
@blp.response(
    201, TaskMessageSchema, headers={"Location": "Location", **doc.ETAG}, example=doc.CREATED
)
@blp.alt_response(**doc.INVALID)
@blp.alt_response(**doc.UNAUTHENTICATED)
@blp.alt_response(**doc.TOO_LARGE)
@blp.alt_response(**doc.FULL)
@blp.alt_response(**doc.KEY_REUSED)
@blp.alt_response(**doc.UNAVAILABLE)
@blp.doc(operationId="createTask", responses={201: {"links": doc.TASK_LINKS}})
def create_task(fields, headers):
    """Create a task; a retry with the same Idempotency-Key answers the first response."""
    key = headers.get("idempotency_key")
    task, replayed = store.create_task(
        current_owner(), fields, idempotency_key=key, recipient=_recipient(fields, required=True)
    )
    answer = _etag(task) | {"Location": url_for("tasks.get_task", task_id=task.task_id)}
    if replayed:
        answer["Idempotent-Replayed"] = "true"
    return {"message": "Task created successfully", "task": task}, answer


@blp.route("", methods=["GET"])
@blp.arguments(TaskListQuerySchema(), location="query")
@blp.response(200, TaskListSchema, example=doc.LISTED)
@blp.alt_response(**doc.INVALID_QUERY)
@blp.alt_response(**doc.UNAUTHENTICATED)
@blp.alt_response(**doc.UNAVAILABLE)
@blp.doc(operationId="listTasks", responses={200: {"links": doc.NEXT_PAGE}})
def list_tasks(query):
    """List the caller's tasks a page at a time: newest first, or earliest due with due bounds.

    `status` and the due bounds pick what is read; `priority`, `category`, `tag` and `q` narrow
    it, reading at most 10 x `limit` tasks per call, so a page may hold fewer than `limit`
    tasks (even none) with a `nextCursor`: follow it until it is null.
    """
    filters = query["filters"]
    tasks, last = store.list_tasks(current_owner(), query["limit"], filters, query["after"])
    next_cursor = {"filters": filters_digest(filters), "after": last} if last else None
    return {"tasks": tasks, "count": len(tasks), "next_cursor": next_cursor}


@blp.route("/changes", methods=["GET"])
@blp.arguments(ChangesQuerySchema(), location="query")
@blp.response(200, ChangesSchema, example=doc.CHANGES_PAGE)
@blp.alt_response(**doc.INVALID_TOKEN)
@blp.alt_response(**doc.UNAUTHENTICATED)
@blp.alt_response(**doc.EXPIRED)
@blp.alt_response(**doc.UNAVAILABLE)
@blp.doc(operationId="listChanges", responses={200: {"links": doc.NEXT_CHANGES}})
def list_changes(query):
    """What changed since `since`: tasks created or changed (whole) and tasks deleted.

    Without `since`, every task. While `hasMore` is true, call again at once with the new
    `syncToken`; when it is false, keep the token for the next sync. A task may come twice:
    keep the higher `version`.
    """
    tasks, deleted, following, has_more = store.read_changes(
        current_owner(), query["limit"], query.get("since")
    )
    return {"tasks": tasks, "deleted": deleted, "sync_token": following, "has_more": has_more}


@blp.route("/<task_id:task_id>", methods=["GET"])
@blp.response(200, TaskResponseSchema, headers=doc.ETAG, example=doc.READ)
@blp.alt_response(**doc.NOT_MODIFIED)
@blp.alt_response(**doc.UNAUTHENTICATED)
@blp.alt_response(**doc.NOT_FOUND)
@blp.alt_response(**doc.UNAVAILABLE)
@blp.doc(operationId="getTask", parameters=[doc.IF_NONE_MATCH])
def get_task(task_id):
    """Read one task; If-None-Match with its ETag answers 304."""
    task = store.get_task(current_owner(), task_id)
    headers = _etag(task)
    if request.if_none_match.contains_weak(str(task.version)):
        abort(Response(status=304, headers=headers))
    return {"task": task}, headers


def _update(operation_id):
    """PUT and PATCH: the same partial update, documented as two operations."""

    def decorate(view):
        for decorator in (
            blp.alt_response(**doc.UNAVAILABLE),
            blp.alt_response(**doc.TOO_LARGE),
            blp.alt_response(**doc.STALE),
            blp.alt_response(**doc.NOT_FOUND),
            blp.alt_response(**doc.UNAUTHENTICATED),
            blp.alt_response(**doc.INVALID),
            blp.doc(
                operationId=operation_id,
                parameters=[doc.IF_MATCH],
                responses={200: {"links": doc.TASK_LINKS}},
            ),
            blp.response(200, TaskMessageSchema, headers=doc.ETAG, example=doc.CHANGED),
            blp.arguments(TaskUpdateSchema(partial=True), example=doc.CHANGES),
        ):
            view = decorator(view)
        return view

    return decorate


@blp.route("/<task_id:task_id>", methods=["PUT"])
@_update("putTask")
def put_task(changes, task_id):
    """Change the fields sent and keep the others; If-Match makes it conditional."""
    return _update_task(changes, task_id)


@blp.route("/<task_id:task_id>", methods=["PATCH"])
@_update("patchTask")
def patch_task(changes, task_id):
    """Change the fields sent and keep the others; If-Match makes it conditional."""
    return _update_task(changes, task_id)


def _update_task(changes, task_id):
    task = store.update_task(
        current_owner(), task_id, changes, _if_match(), recipient=_recipient(changes)
    )
    return {"message": "Task updated successfully", "task": task}, _etag(task)


@blp.route("/<task_id:task_id>", methods=["DELETE"])
@blp.response(200, TaskDeletedSchema, example=doc.DELETED)
@blp.alt_response(**doc.UNAUTHENTICATED)
@blp.alt_response(**doc.NOT_FOUND)
@blp.alt_response(**doc.STALE)
@blp.alt_response(**doc.UNAVAILABLE)
@blp.doc(operationId="deleteTask", parameters=[doc.IF_MATCH])
def delete_task(task_id):
    """Delete a task; If-Match makes it conditional."""
    store.delete_task(current_owner(), task_id, _if_match())
    return {"message": "Task deleted successfully", "task_id": task_id}


def _recipient(fields, required=False):
    """Where a reminder that ``fields`` enable goes: the caller's verified address, never one
    from the body, and the /app page of this stage, for the email's link.

    A caller without one may still send back a task whose reminder is on (the store checks that
    it is); only a create refuses at once."""
    if fields.get("reminder_enabled") is not True:
        return None
    address = current_email()
    if address is None and required:
        raise ValidationError({"reminderAt": [REMINDER_NEEDS_ADDRESS]})
    if address is None:
        return None
    return store.Recipient(address, url_for("pages.task_page", _external=True))


def _etag(task):
    return {"ETag": f'"{task.version}"'}


def _if_match():
    """The versions an If-Match header accepts: None when any version will do."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    etags = parse_etags(header)
    if etags.star_tag:
        return None
    # Strong comparison: weak tags never match, and tags this API never made match nothing.
    # werkzeug parses the empty tag "" as None: it matches nothing either.
    versions = [
        int(tag)
        for tag in etags.as_set()
        if tag and tag.isascii() and tag.isdigit() and len(tag) <= _MAX_VERSION_DIGITS
    ]
    return tuple(sorted(set(versions)))[:_MAX_IF_MATCH_TAGS]
