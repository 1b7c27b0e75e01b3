"""What comes in and what goes out: marshmallow schemas for SPEC.md section 1 and 2.

Every validation message is a sentence that names its field, because errors.py shows the
first one to a person as the error.
"""

import re
from datetime import UTC

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from .cursors import Cursor, SyncToken, filters_digest
from .models import format_timestamp
from .store import ListFilters

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


class StrictBoolean(fields.Boolean):
    """true or false, and nothing that merely looks like one ("true", 1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        # A task written before reminders existed has no reminderEnabled: it is off.
        return bool(value)


REMINDER_NEEDS_TIME = "reminderAt or dueDate is required when reminderEnabled is true"
REMINDER_NEEDS_ADDRESS = (
    "reminderEnabled needs a verified email address to send to: sign in with a token whose "
    "email_verified claim is true"
)


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
    reminder_enabled = StrictBoolean(
        data_key="reminderEnabled",
        load_default=False,
        error_messages=_messages("reminderEnabled", "true or false"),
        metadata={
            "description": "Email the owner at reminderAt, or at dueDate when reminderAt is "
            "null. Needs a signed-in caller whose token carries a verified email."
        },
    )
    reminder_at = Timestamp(
        data_key="reminderAt",
        allow_none=True,
        error_messages=_messages(
            "reminderAt", "an ISO 8601 date-time such as 2025-10-01T16:45:00Z"
        ),
    )

    @pre_load
    def ignore_read_only_fields(self, data, **kwargs):
        # A client may send back a task it read: the server's own fields are ignored.
        return {key: value for key, value in data.items() if key not in READ_ONLY_FIELDS}

    @validates_schema
    def require_a_change(self, data, partial, **kwargs):
        if partial and not data:
            raise ValidationError("Request body must contain at least one field to update")

    @validates_schema
    def require_a_reminder_time(self, data, partial, **kwargs):
        # A create's missing time is none; an update's may be stored, which the write's own
        # condition checks (store.ReminderNeedsTime).
        if data.get("reminder_enabled") is not True:
            return
        if partial and not ("reminder_at" in data and "due_date" in data):
            return
        if data.get("reminder_at") is None and data.get("due_date") is None:
            raise ValidationError(REMINDER_NEEDS_TIME, "reminderAt")


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


def _length(name, low, high):
    return validate.Length(low, high, error=f"{name} must be {low} to {high} characters long")


class TaskListQuerySchema(Schema):
    """GET /tasks: a page size, the cursor of the page before, and the filters (SPEC 2 and 8)."""

    class Meta:
        # A misspelt filter must not quietly list everything.
        unknown = RAISE

    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(1, 100, error="limit must be between 1 and 100"),
        error_messages=_messages("limit", "a whole number between 1 and 100"),
        metadata={"description": "Tasks per page, 1 to 100.", "example": 20},
    )
    cursor = Cursor(
        metadata={"description": "The nextCursor of the page before, with the same filters."}
    )
    status = fields.String(
        validate=validate.OneOf(STATUSES, error=STATUS_MESSAGE),
        error_messages={"invalid": STATUS_MESSAGE},
        metadata={"description": "Only tasks with this status.", "example": "pending"},
    )
    due_after = Timestamp(
        data_key="dueAfter",
        error_messages=_messages("dueAfter", "an ISO 8601 date-time such as 2025-10-01T00:00:00Z"),
        metadata={
            "description": "Only tasks due at or after this time; lists come earliest due first.",
            "example": "2030-01-31T00:00:00+01:00",
        },
    )
    due_before = Timestamp(
        data_key="dueBefore",
        error_messages=_messages("dueBefore", "an ISO 8601 date-time such as 2025-10-02T00:00:00Z"),
        metadata={
            "description": "Only tasks due before this time (pending and now: overdue).",
            "example": "2030-02-01T00:00:00+01:00",
        },
    )
    priority = fields.String(
        validate=validate.OneOf(PRIORITIES, error='priority must be "low", "medium" or "high"'),
        error_messages=_messages("priority", '"low", "medium" or "high"'),
        metadata={"description": "Only tasks of this priority.", "example": "high"},
    )
    category = fields.String(
        validate=_length("category", 1, 50),
        error_messages=_messages("category", "a string"),
        metadata={"description": "Only tasks of this category.", "example": "errands"},
    )
    tag = fields.String(
        validate=_length("tag", 1, 50),
        error_messages=_messages("tag", "a string"),
        metadata={"description": "Only tasks that carry this tag.", "example": "shopping"},
    )
    q = fields.String(
        validate=_length("q", 1, 100),
        error_messages=_messages("q", "a string"),
        metadata={
            "description": "Only tasks whose title or description contains this, in any case.",
            "example": "milk",
        },
    )

    @validates_schema
    def due_range_is_ordered(self, data, **kwargs):
        after, before = data.get("due_after"), data.get("due_before")
        if after is not None and before is not None and after > before:
            raise ValidationError("dueAfter must not be later than dueBefore", "dueAfter")

    @post_load
    def gather_filters(self, data, **kwargs):
        names = ("status", "due_after", "due_before", "priority", "category", "tag", "q")
        filters = ListFilters(**{name: data.get(name) for name in names})
        cursor = data.get("cursor")
        if cursor is not None and (
            cursor["filters"] != filters_digest(filters)
            or (cursor["after"].due is not None) != filters.by_due
        ):
            raise ValidationError(
                "cursor belongs to other filters: repeat the filters it came from", "cursor"
            )
        return {
            "limit": data["limit"],
            "filters": filters,
            "after": cursor["after"] if cursor else None,
        }


class ChangesQuerySchema(Schema):
    """GET /tasks/changes: where the last sync ended, and a page size (SPEC 9)."""

    class Meta:
        unknown = RAISE

    since = SyncToken(
        metadata={"description": "The syncToken of the last answer; absent to start from nothing."}
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(1, 500, error="limit must be between 1 and 500"),
        error_messages=_messages("limit", "a whole number between 1 and 500"),
        metadata={"description": "Tasks plus tombstones per answer, 1 to 500.", "example": 100},
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
    reminder_enabled = StrictBoolean(data_key="reminderEnabled")
    reminder_at = Timestamp(data_key="reminderAt", allow_none=True)
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


class TombstoneSchema(Schema):
    """A task deleted since the sync token: the client removes it."""

    task_id = fields.String(data_key="taskId")
    deleted_at = Timestamp(data_key="deletedAt")


class ChangesSchema(Schema):
    tasks = fields.List(fields.Nested(TaskSchema))
    deleted = fields.List(fields.Nested(TombstoneSchema))
    sync_token = SyncToken(data_key="syncToken")
    has_more = fields.Boolean(data_key="hasMore")


class TaskDeletedSchema(Schema):
    message = fields.String()
    task_id = fields.String(data_key="taskId")


class ErrorSchema(Schema):
    """The body of every error response (SPEC.md section 3)."""

    error = fields.String()
    details = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    request_id = fields.String(data_key="requestId")
