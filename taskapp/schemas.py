"""What comes in and what goes out: marshmallow schemas for SPEC.md section 1 and 2.

Every validation message is a sentence that names its field, because errors.py shows the
first one to a person as the error.
"""

import base64
import re
from datetime import UTC
from uuid import UUID

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from .models import format_timestamp

STATUSES = ("pending", "completed")
PRIORITIES = ("low", "medium", "high")
READ_ONLY_FIELDS = ("taskId", "createdAt", "updatedAt", "completedAt", "version")
_DATE_AND_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")
STATUS_MESSAGE = 'Status must be either "pending" or "completed"'


def _messages(name, expected):
    return {
        "required": f"{name} is required",
        "null": f"{name} must not be null",
        "invalid": f"{name} must be {expected}",
    }


# A title is trimmed of what str.strip() removes (Unicode whitespace). TITLE_PATTERN, which
# /openapi.json publishes, lists those characters literally, so that it means exactly what
# the code does in every regex dialect: 1..200 characters between the first and the last
# character that is not whitespace.
_SPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
TITLE_PATTERN = rf"^[{_SPACE}]*[^{_SPACE}](?:[\s\S]{{0,198}}[^{_SPACE}])?[{_SPACE}]*$"


class TrimmedString(fields.String):
    """A string with its surrounding whitespace removed before it is validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _title_length(value):
    # A plain function rather than validate.Length: the documented limit is TITLE_PATTERN,
    # since a maxLength on the untrimmed string would refuse titles the API accepts.
    if not 1 <= len(value) <= 200:
        raise ValidationError("Title must be 1 to 200 characters long")


class Timestamp(fields.AwareDateTime):
    """An ISO 8601 date-time; an offset is converted to UTC, none means UTC; shown as ...Z."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # A date alone, or a date-time without its time part, is refused rather than guessed.
        if not isinstance(value, str) or not _DATE_AND_TIME.match(value):
            raise self.make_error("invalid", input=value, obj_type="datetime")
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type="datetime") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_timestamp(value)


# A cursor is 17 bytes in unpadded base64url: the filter it belongs to (0 none, 1 pending,
# 2 completed) and the 16 bytes of the taskId to continue after. Every string that matches
# CURSOR_PATTERN decodes to one such pair and back, so /openapi.json can say exactly which
# cursors exist; anything else is a 400.
CURSOR_PATTERN = r"^A[A-Za-v][A-Za-z0-9_-]{20}[AEIMQUYcgkosw048]$"
_CURSOR = re.compile(CURSOR_PATTERN)
_CURSOR_FILTERS = (None, *STATUSES)


class Cursor(fields.String):
    """An opaque page cursor: the filter it belongs to and the taskId to continue after."""

    default_error_messages = {"invalid": "cursor is not a cursor this API returned"}

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": CURSOR_PATTERN}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        raw = bytes([_CURSOR_FILTERS.index(value["status"])]) + UUID(value["after"]).bytes
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _CURSOR.fullmatch(text):
            raise self.make_error("invalid")
        raw = base64.urlsafe_b64decode(text + "=")
        return {"status": _CURSOR_FILTERS[raw[0]], "after": str(UUID(bytes=raw[1:]))}


def _unique(values):
    if len(set(values)) != len(values):
        raise ValidationError("tags must not contain duplicates")


class TaskInputSchema(Schema):
    """The writable fields of a task.

    Loaded whole for a create (title required, defaults filled in), and with partial=True
    for PUT and PATCH, where the fields present change and the others stay.
    """

    class Meta:
        unknown = RAISE

    title = TrimmedString(
        required=True,
        validate=_title_length,
        error_messages=_messages("Title", "a string"),
        metadata={"pattern": TITLE_PATTERN},
    )
    description = fields.String(
        load_default="",
        validate=validate.Length(max=1000, error="description must be at most 1000 characters"),
        error_messages=_messages("description", "a string"),
    )
    status = fields.String(
        load_default="pending",
        validate=validate.OneOf(STATUSES, error=STATUS_MESSAGE),
        error_messages={"null": STATUS_MESSAGE, "invalid": STATUS_MESSAGE},
    )
    due_date = Timestamp(
        data_key="dueDate",
        allow_none=True,
        error_messages=_messages("dueDate", "an ISO 8601 date-time such as 2025-10-01T17:00:00Z"),
    )
    priority = fields.String(
        load_default="medium",
        validate=validate.OneOf(PRIORITIES, error='priority must be "low", "medium" or "high"'),
        error_messages=_messages("priority", '"low", "medium" or "high"'),
    )
    category = fields.String(
        allow_none=True,
        validate=validate.Length(1, 50, error="category must be 1 to 50 characters long"),
        error_messages=_messages("category", "a string or null"),
    )
    tags = fields.List(
        fields.String(
            validate=validate.Length(
                1, 50, error="each tag in tags must be 1 to 50 characters long"
            ),
            error_messages=_messages("each tag in tags", "a string"),
        ),
        load_default=list,
        validate=[validate.Length(max=20, error="tags may hold at most 20 tags"), _unique],
        error_messages=_messages("tags", "a list of strings"),
        metadata={"uniqueItems": True},
    )

    @pre_load
    def ignore_read_only_fields(self, data, **kwargs):
        # A client may send back a task it read: the server's own fields are ignored.
        return {key: value for key, value in data.items() if key not in READ_ONLY_FIELDS}

    @validates_schema
    def require_a_change(self, data, partial, **kwargs):
        if partial and not data:
            raise ValidationError("Request body must contain at least one field to update")


class TaskUpdateSchema(TaskInputSchema):
    """PUT and PATCH: load it with partial=True, so only the fields present change."""


class IdempotencyHeadersSchema(Schema):
    """POST /tasks: an optional Idempotency-Key makes a retry safe (SPEC.md section 2)."""

    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(
            r"^[\x21-\x7e]{1,255}$",
            error="Idempotency-Key must be 1 to 255 visible ASCII characters",
        ),
        metadata={"description": "A key of the client's choosing, unique per create (24 hours)."},
    )


class TaskListQuerySchema(Schema):
    """GET /tasks: a page size, the cursor of the page before, and an optional status filter."""

    class Meta:
        # Query parameters this API does not use (cache busters, say) are ignored.
        unknown = EXCLUDE

    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(1, 100, error="limit must be between 1 and 100"),
        error_messages=_messages("limit", "a whole number between 1 and 100"),
    )
    cursor = Cursor()
    status = fields.String(
        validate=validate.OneOf(STATUSES, error=STATUS_MESSAGE),
        error_messages={"invalid": STATUS_MESSAGE},
    )

    @validates_schema
    def cursor_matches_filter(self, data, **kwargs):
        cursor = data.get("cursor")
        if cursor is not None and cursor["status"] != data.get("status"):
            raise ValidationError(
                "cursor belongs to another status filter: repeat the filter it came from",
                "cursor",
            )


class TaskSchema(Schema):
    """A task as the API shows it."""

    task_id = fields.String(data_key="taskId")
    title = fields.String()
    description = fields.String()
    status = fields.String()
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")
    due_date = Timestamp(data_key="dueDate", allow_none=True)
    priority = fields.String()
    category = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    completed_at = Timestamp(data_key="completedAt", allow_none=True)
    version = fields.Integer()


class TaskResponseSchema(Schema):
    task = fields.Nested(TaskSchema)


class TaskMessageSchema(Schema):
    message = fields.String()
    task = fields.Nested(TaskSchema)


class TaskListSchema(Schema):
    tasks = fields.List(fields.Nested(TaskSchema))
    count = fields.Integer()
    next_cursor = Cursor(data_key="nextCursor", allow_none=True)


class TaskDeletedSchema(Schema):
    message = fields.String()
    task_id = fields.String(data_key="taskId")


class ErrorSchema(Schema):
    """The body of every error response (SPEC.md section 3)."""

    error = fields.String()
    details = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    request_id = fields.String(data_key="requestId")
