"""What /openapi.json says beyond what the schemas and views tell flask-smorest.

Headers (ETag, Location, Retry-After, If-Match, If-None-Match), the error answers of each
operation with the error body (SPEC.md section 3), an example for every request and
response, the OpenAPI links that chain a written task to the operations on it, and the
ways to authenticate. tasks.py spreads these into its decorators.
"""

from .schemas import ErrorSchema, TaskUpdateSchema

ETAG_PATTERN = r'^"[1-9][0-9]*"$'
LOCATION_PATTERN = r"^/tasks/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TASK_ID = "0193a4c2-7f4e-7b8a-9c1d-2e3f4a5b6c7d"

TASK = {
    "taskId": TASK_ID,
    "title": "Buy milk",
    "description": "Two litres, semi-skimmed",
    "status": "pending",
    "createdAt": "2025-09-29T10:00:00.000Z",
    "updatedAt": "2025-09-29T10:00:00.000Z",
    "dueDate": "2025-10-01T17:00:00.000Z",
    "priority": "high",
    "category": "errands",
    "tags": ["shopping"],
    "completedAt": None,
    "reminderEnabled": False,
    "reminderAt": None,
    "version": 1,
}
UPDATED = TASK | {
    "status": "completed",
    "updatedAt": "2025-09-30T08:15:00.000Z",
    "completedAt": "2025-09-30T08:15:00.000Z",
    "version": 2,
}
NEW_TASK = {
    "title": "Buy milk",
    "description": "Two litres, semi-skimmed",
    "dueDate": "2025-10-01T19:00:00+02:00",
    "priority": "high",
    "category": "errands",
    "tags": ["shopping"],
}
CHANGES = {"status": "completed"}
CREATED = {"message": "Task created successfully", "task": TASK}
READ = {"task": TASK}
CHANGED = {"message": "Task updated successfully", "task": UPDATED}
LISTED = {"tasks": [TASK], "count": 1, "nextCursor": "DuBB35UujqABk6TCf057ipwdLj9KW2x9"}
CHANGES_PAGE = {
    "tasks": [UPDATED],
    "deleted": [
        {"taskId": "0193a4c3-1b2c-7d3e-8f40-5a6b7c8d9e0f", "deletedAt": "2025-09-30T09:00:00.000Z"}
    ],
    "syncToken": "AQSmwVfhAAABmZnZnoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADJT70R",
    "hasMore": False,
}
DELETED = {"message": "Task deleted successfully", "taskId": TASK_ID}

ETAG = {"ETag": "ETag"}
IF_MATCH, IF_NONE_MATCH = "IfMatch", "IfNoneMatch"


def _error(status, description, message, details=None):
    example = {"error": message} | ({"details": details} if details else {})
    return {
        "status_code": status,
        "schema": ErrorSchema,
        "description": description,
        "example": example,
    }


INVALID = _error(
    400,
    "The body is not a JSON object, or a field is invalid; details name each field.",
    "Title is required",
    {"title": ["Title is required"]},
)
UNAUTHENTICATED = _error(
    401, "No valid bearer token (where the stage requires one).", "The token is invalid or expired"
) | {"headers": {"WWW-Authenticate": "WWWAuthenticate"}}
INVALID_QUERY = _error(
    400,
    "A query parameter is invalid, or the cursor belongs to other filters; details name it.",
    "dueAfter must not be later than dueBefore",
    {"dueAfter": ["dueAfter must not be later than dueBefore"]},
)
INVALID_TOKEN = _error(
    400,
    "since is not a sync token this API gave the caller, or limit is out of range.",
    "since is not a sync token this API returned",
    {"since": ["since is not a sync token this API returned"]},
)
EXPIRED = _error(
    410,
    "The sync token is older than deleted tasks are kept (30 days): sync again without since.",
    "Sync token expired; sync again from the start",
)
NOT_FOUND = _error(404, "No task of the caller has this taskId.", "Task not found")
STALE = _error(
    412,
    "If-Match names no version the task has; nothing was written.",
    "The task has changed since that ETag: read it again and retry with its new ETag",
)
TOO_LARGE = _error(
    413, "The body is larger than 64 KiB.", "Request body must not be larger than 64 KiB"
)
FULL = _error(
    403,
    "The caller has as many live tasks as one account may keep (100,000 unless the stage "
    "sets another limit); nothing was written. Deleting tasks makes room.",
    "You have 100,000 tasks, the most one account may keep: delete some to add more",
)
KEY_REUSED = _error(
    422,
    "The Idempotency-Key was used with another body; nothing was written.",
    "This Idempotency-Key was already used with a different request body",
)
UNAVAILABLE = _error(
    503,
    "DynamoDB is throttled or unreachable; nothing was written.",
    "The task store is busy or unreachable; nothing was changed. Retry shortly",
) | {"headers": {"Retry-After": "RetryAfter"}}
NOT_MODIFIED = {
    "status_code": 304,
    "description": "Not modified: If-None-Match names its ETag. No body.",
    "headers": ETAG,
}

TASK_LINKS = {
    name: {
        "operationId": operation,
        "parameters": {"task_id": "$response.body#/task/taskId", **extra},
    }
    for name, operation, extra in (
        ("GetTask", "getTask", {}),
        ("GetTaskIfChanged", "getTask", {"header.If-None-Match": "$response.header.ETag"}),
        ("ReplaceTask", "putTask", {}),
        ("UpdateTask", "patchTask", {}),
        ("DeleteTask", "deleteTask", {}),
    )
}
NEXT_PAGE = {
    "NextPage": {
        "operationId": "listTasks",
        "parameters": {
            "cursor": "$response.body#/nextCursor",
            "limit": "$request.query.limit",
            **{
                name: f"$request.query.{name}"
                for name in ("status", "dueAfter", "dueBefore", "priority", "category", "tag", "q")
            },
        },
    }
}
NEXT_CHANGES = {
    "NextChanges": {
        "operationId": "listChanges",
        "parameters": {"since": "$response.body#/syncToken", "limit": "$request.query.limit"},
    }
}


def document_components(spec):
    """Components the views refer to by name, registered before the views."""
    # PUT and PATCH need at least one writable field (the read-only ones are ignored).
    writable = [field.data_key or name for name, field in TaskUpdateSchema().load_fields.items()]
    spec.components.schema(
        "TaskUpdate",
        component={"anyOf": [{"required": [name]} for name in writable]},
        schema=TaskUpdateSchema(partial=True),
    )
    # ETags are strong and derived from the version: "<version>" (SPEC 2).
    spec.components.header(
        "ETag",
        {
            "description": "The task's version as a strong entity tag.",
            "schema": {"type": "string", "pattern": ETAG_PATTERN},
        },
    )
    spec.components.header(
        "Location",
        {
            "description": "Where the new task is: /tasks/{taskId}.",
            "schema": {"type": "string", "pattern": LOCATION_PATTERN},
        },
    )
    spec.components.header(
        "RetryAfter",
        {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 0},
        },
    )
    spec.components.parameter(
        "IfMatch",
        "header",
        {
            "name": "If-Match",
            "description": "Write only if the task is at one of these ETags (or `*`); "
            "otherwise 412 and nothing changes.",
            "required": False,
            "schema": {"type": "string"},
        },
    )
    spec.components.parameter(
        "IfNoneMatch",
        "header",
        {
            "name": "If-None-Match",
            "description": "Answer 304 without a body if the task is still at this ETag.",
            "required": False,
            "schema": {"type": "string"},
        },
    )
    spec.components.header(
        "WWWAuthenticate",
        {
            "description": 'Bearer, with error="invalid_token" when a token was refused.',
            "schema": {"type": "string"},
        },
    )
    # SPEC 7: a bearer JWT where the stage verifies tokens (AUTH_MODE jwt or cognito), and the
    # stage's API key at API Gateway. Optional here: AUTH_MODE none needs neither.
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.security_scheme(
        "apiKey", {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    )
    spec.options["security"] = [{"bearerAuth": [], "apiKey": []}, {}]
