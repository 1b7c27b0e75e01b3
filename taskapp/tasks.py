"""The tasks blueprint: thin views that parse, make one store call and shape the answer."""

from flask import Response, abort, request, url_for
from werkzeug.http import parse_etags

from . import store
from .auth import authenticate, current_owner
from .extensions import Blueprint
from .schemas import (
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
blp.before_request(authenticate)

# DynamoDB accepts at most 100 values in an IN condition, and numbers of at most 38 digits.
_MAX_IF_MATCH_TAGS = 100
_MAX_VERSION_DIGITS = 18


@blp.route("", methods=["POST"])
@blp.arguments(TaskInputSchema)
@blp.arguments(IdempotencyHeadersSchema, location="headers")
@blp.response(201, TaskMessageSchema)
def create_task(fields, headers):
    """Create a task; a retry with the same Idempotency-Key answers the first response."""
    key = headers.get("idempotency_key")
    task, replayed = store.create_task(current_owner(), fields, idempotency_key=key)
    answer = _etag(task) | {"Location": url_for("tasks.get_task", task_id=task.task_id)}
    if replayed:
        answer["Idempotent-Replayed"] = "true"
    return {"message": "Task created successfully", "task": task}, answer


@blp.route("", methods=["GET"])
@blp.arguments(TaskListQuerySchema, location="query")
@blp.response(200, TaskListSchema)
def list_tasks(query):
    """List the caller's tasks, newest first, a page at a time."""
    status, cursor = query.get("status"), query.get("cursor")
    tasks, last = store.list_tasks(
        current_owner(), query["limit"], status, cursor["after"] if cursor else None
    )
    next_cursor = {"status": status, "after": last} if last else None
    return {"tasks": tasks, "count": len(tasks), "next_cursor": next_cursor}


@blp.route("/<task_id>", methods=["GET"])
@blp.response(200, TaskResponseSchema)
def get_task(task_id):
    """Read one task; If-None-Match with its ETag answers 304."""
    task = store.get_task(current_owner(), task_id)
    headers = _etag(task)
    if request.if_none_match.contains_weak(str(task.version)):
        abort(Response(status=304, headers=headers))
    return {"task": task}, headers


@blp.route("/<task_id>", methods=["PUT", "PATCH"])
@blp.arguments(TaskUpdateSchema(partial=True))
@blp.response(200, TaskMessageSchema)
def update_task(changes, task_id):
    """Change the fields sent and keep the others; If-Match makes it conditional."""
    task = store.update_task(current_owner(), task_id, changes, _if_match())
    return {"message": "Task updated successfully", "task": task}, _etag(task)


@blp.route("/<task_id>", methods=["DELETE"])
@blp.response(200, TaskDeletedSchema)
def delete_task(task_id):
    """Delete a task; If-Match makes it conditional."""
    store.delete_task(current_owner(), task_id, _if_match())
    return {"message": "Task deleted successfully", "task_id": task_id}


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
    versions = [
        int(tag)
        for tag in etags.as_set()
        if tag.isascii() and tag.isdigit() and len(tag) <= _MAX_VERSION_DIGITS
    ]
    return tuple(sorted(set(versions)))[:_MAX_IF_MATCH_TAGS]
