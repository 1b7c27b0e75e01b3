"""The DynamoDB table behind taskapp, as PynamoDB models.

One table per stage. Every partition key starts with the kind of item it holds, so no
caller's ``sub`` can name another kind's partition (a sub of "idem#alice" owns the tasks
partition "task#idem#alice", never Alice's idempotency records).

| item | pk | sk | in indexes |
|---|---|---|---|
| task | ``task#<sub>`` | taskId (UUIDv7) | status, due, changes; reminder while enabled |
| tombstone (a deleted task, kept 30 days) | ``task#<sub>`` | taskId | changes |
| idempotency record (24 hours) | ``idem#<sub>`` | the Idempotency-Key | none |
| an owner's count of live tasks | ``usage#<sub>`` | ``tasks`` | none |
| migration progress (flask migrate-table) | ``migration#<source table>`` | ``progress`` | none |
| the reminder scheduler's progress | ``scheduler#reminders`` | ``progress`` | none |

Local secondary indexes: strongly consistent reads (read-your-writes), all attributes projected
so that a page is one Query. They can only be made with the table; ``check_indexes`` in
store/table.py refuses a table whose indexes differ, and ``flask migrate-table`` moves a stage.

- status-index, sort key statusKey ``<status>#<taskId>`` (string): the status filter, newest
  first; the two statuses merged make the unfiltered list. Every write of a live task.
- due-index, sort key dueKey = dueBase + duePos (number): due bounds, earliest first. Every
  write of a live task.
- changes-index, sort key changeKey ``<updatedAt>#<taskId>`` (string): GET /tasks/changes.
  Every write, tombstones too.

The due key is a number because an update must move it in the same request without reading
the task: ``dueBase`` stands for the status (pending 2e15, completed 1e15) and ``duePos`` for the
due date (milliseconds since year 1, or a sentinel above every date when there is none) plus a
22-digit fraction taken from the taskId, which keeps keys unique and ties in creation order.
Changing only the status sets ``dueKey = duePos + :base``; changing only the due date sets
``dueKey = dueBase + :pos``: DynamoDB's update expressions add numbers, they cannot join strings.
A status filter plus due bounds is one range of the due index; due bounds alone merge the two
status ranges, as the unfiltered list merges the two statuses of the status index.

Write units (items under 1 KB; measured by benchmarks/bench_api.py): a create writes the table,
three index entries and the owner's count in one transaction, which DynamoDB bills twice (10
units); an update rewrites the changes entry under a new key (2) and the other two in place, or
under a new key when status or due date change (5 to 7); a delete turns the task into a small
tombstone (table, status and due entries removed, changes entry moved) and takes one off the
count, in one transaction: 12. A task with an enabled reminder also writes its reminder index
entry (1 more) when it is created, and when its status, times or reminder change.

The reminder index (SPEC section 10) spans owners, so it is a global index, which DynamoDB adds
to a live table (``ensure_table`` does): it needed no migration. Sparse: only tasks with an
enabled reminder have both its keys, remindBucket (the UTC minute, ``2025-09-29T10:00``, in
which the scheduler should look at the task) and remindTo (the owner's verified address). It is
read eventually consistently, which the scheduler allows for (store/reminders.py).
"""

from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from uuid import UUID

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import NUMBER, PAY_PER_REQUEST_BILLING_MODE, STRING
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

# DynamoDB numbers hold 38 significant digits: 16 before the point, 22 after.
DECIMAL = Context(prec=38)
_YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
DUE_BASES = {"completed": Decimal(10**15), "pending": Decimal(2 * 10**15)}
# Above every due date (year 9999 is 3.2e14 ms after year 1), below the next status's base.
NO_DUE = Decimal(9 * 10**14)
# The fraction's last digit: the step between two due keys that can exist.
DUE_STEP = Decimal("1e-22")
_FRACTION_BITS = 73  # < 10**22: the taskId's time, rand_a and the first bits of rand_b


def format_timestamp(value: datetime) -> str:
    """UTC with milliseconds and Z, the one time format of the API: 2025-09-29T10:00:00.000Z."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_partition(owner: str) -> str:
    return f"task#{owner}"


def idempotency_partition(owner: str) -> str:
    return f"idem#{owner}"


def usage_partition(owner: str) -> str:
    return f"usage#{owner}"


def reminder_bucket(moment: datetime) -> str:
    """The reminder index's partition for a time: its UTC minute, 2025-09-29T10:00."""
    return format_timestamp(moment)[:16]


def status_key(status: str, task_id: str) -> str:
    return f"{status}#{task_id}"


def change_key(stamp: datetime, task_id: str) -> str:
    return f"{format_timestamp(stamp)}#{task_id}"


def due_milliseconds(due: datetime) -> Decimal:
    """A due date as a whole number, in the order of the due index: milliseconds since year 1."""
    return Decimal((due - _YEAR_ONE) // _MILLISECOND)


def due_position(due: datetime | None, task_id: str) -> Decimal:
    """Where a task sits in either status's range of the due index (see the table above)."""
    whole = NO_DUE if due is None else due_milliseconds(due)
    bits = UUID(task_id).int
    # The taskId's time, rand_a and rand_b, without its version (4 bits) and variant (2 bits),
    # which are the same in every taskId; the first 73 bits of that fit in 22 digits.
    ordered = (bits >> 80) << 74 | ((bits >> 64) & 0xFFF) << 62 | (bits & ((1 << 62) - 1))
    fraction = ordered >> (122 - _FRACTION_BITS)
    return DECIMAL.add(whole, Decimal(fraction).scaleb(-22))


class TimestampAttribute(Attribute[datetime]):
    """A UTC datetime stored as the API shows it, so the table reads like the API."""

    attr_type = STRING

    def serialize(self, value):
        return format_timestamp(value)

    def deserialize(self, value):
        return datetime.fromisoformat(value)


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB number kept exact (PynamoDB's NumberAttribute goes through float)."""

    attr_type = NUMBER

    def serialize(self, value):
        return str(value)

    def deserialize(self, value):
        return Decimal(value)


class StatusIndex(LocalSecondaryIndex):
    """An owner's live tasks by status, newest first within a status."""

    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    partition = UnicodeAttribute(hash_key=True, attr_name="pk")
    status_key = UnicodeAttribute(range_key=True, attr_name="statusKey")


class DueIndex(LocalSecondaryIndex):
    """An owner's live tasks by status, then due date."""

    class Meta:
        index_name = "due-index"
        projection = AllProjection()

    partition = UnicodeAttribute(hash_key=True, attr_name="pk")
    due_key = DecimalAttribute(range_key=True, attr_name="dueKey")


class ChangesIndex(LocalSecondaryIndex):
    """Every task and tombstone of an owner in the order they were last written."""

    class Meta:
        index_name = "changes-index"
        projection = AllProjection()

    partition = UnicodeAttribute(hash_key=True, attr_name="pk")
    change_key = UnicodeAttribute(range_key=True, attr_name="changeKey")


class ReminderIndex(GlobalSecondaryIndex):
    """Tasks with an enabled reminder, by the minute the scheduler should look at them.

    Sparse: a task is in it only while it has both keys, the minute (remindBucket) and the
    address to remind (remindTo, set with reminderEnabled true and removed with false). It
    carries what the scheduler needs to decide without reading the task; the task itself is
    read by the conditional write that claims it.
    """

    class Meta:
        index_name = "reminder-index"
        projection = IncludeProjection(
            ["status", "reminderAt", "dueDate", "remindDone", "remindLease"]
        )

    bucket = UnicodeAttribute(hash_key=True, attr_name="remindBucket")
    to = UnicodeAttribute(range_key=True, attr_name="remindTo")


class Task(Model):
    class Meta:
        # Set from the app's config by configure(); see create_app().
        table_name = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    partition = UnicodeAttribute(hash_key=True, attr_name="pk")
    task_id = UnicodeAttribute(range_key=True, attr_name="sk")
    title = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    priority = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    due_date = TimestampAttribute(null=True, attr_name="dueDate")
    created_at = TimestampAttribute(null=True, attr_name="createdAt")
    updated_at = TimestampAttribute(null=True, attr_name="updatedAt")
    completed_at = TimestampAttribute(null=True, attr_name="completedAt")
    reminder_enabled = BooleanAttribute(null=True, attr_name="reminderEnabled")
    reminder_at = TimestampAttribute(null=True, attr_name="reminderAt")
    version = NumberAttribute()
    # Set only on a tombstone, with the TTL that removes it.
    deleted_at = TimestampAttribute(null=True, attr_name="deletedAt")
    expires_at = TTLAttribute(null=True, attr_name="expiresAt")
    # Index keys, derived from the fields above by store/tasks.py.
    status_key = UnicodeAttribute(null=True, attr_name="statusKey")
    due_base = DecimalAttribute(null=True, attr_name="dueBase")
    due_pos = DecimalAttribute(null=True, attr_name="duePos")
    due_key = DecimalAttribute(null=True, attr_name="dueKey")
    change_key = UnicodeAttribute(attr_name="changeKey")
    # The reminder (store/reminders.py): the index keys, the /app page to link to, and what
    # the scheduler did: the reminder time it handled, how, its claim and its refused tries.
    remind_bucket = UnicodeAttribute(null=True, attr_name="remindBucket")
    remind_to = UnicodeAttribute(null=True, attr_name="remindTo")
    remind_link = UnicodeAttribute(null=True, attr_name="remindLink")
    remind_done = UnicodeAttribute(null=True, attr_name="remindDone")
    remind_outcome = UnicodeAttribute(null=True, attr_name="remindOutcome")
    remind_lease = UnicodeAttribute(null=True, attr_name="remindLease")
    remind_tries = NumberAttribute(null=True, attr_name="remindTries")

    status_index = StatusIndex()
    due_index = DueIndex()
    changes_index = ChangesIndex()
    reminder_index = ReminderIndex()

    @property
    def is_tombstone(self) -> bool:
        return self.deleted_at is not None

    def set_index_keys(self) -> None:
        """Derive every index key of a live task from its fields."""
        self.status_key = status_key(self.status, self.task_id)
        self.due_base = DUE_BASES[self.status]
        self.due_pos = due_position(self.due_date, self.task_id)
        self.due_key = DECIMAL.add(self.due_base, self.due_pos)
        self.change_key = change_key(self.updated_at, self.task_id)


class IdempotencyRecord(Model):
    """What the first POST with an Idempotency-Key created, kept for 24 hours.

    Records share the table in partitions of their own ("idem#<sub>"), so an owner's task
    Query never meets them, and DynamoDB's TTL deletes them after expiresAt.
    """

    class Meta:
        table_name = None

    partition = UnicodeAttribute(hash_key=True, attr_name="pk")
    key = UnicodeAttribute(range_key=True, attr_name="sk")
    request_hash = UnicodeAttribute(attr_name="requestHash")
    # The task as first created, in DynamoDB's JSON without its index keys, UTF-8 unescaped:
    # what a retry answers.
    task = UnicodeAttribute()
    expires_at = TTLAttribute(attr_name="expiresAt")


class Usage(Model):
    """How many live tasks an owner has: every create adds one and every delete takes one, in
    the same transaction as the task's write, whose condition keeps it under the limit."""

    class Meta:
        table_name = None

    partition = UnicodeAttribute(hash_key=True, attr_name="pk")
    kind = UnicodeAttribute(range_key=True, attr_name="sk", default="tasks")
    live = NumberAttribute(null=True)


class ReminderProgress(Model):
    """Where the reminder scheduler goes on: the first minute of the reminder index that it has
    not finished (store/reminders.py)."""

    class Meta:
        table_name = None

    partition = UnicodeAttribute(hash_key=True, attr_name="pk", default="scheduler#reminders")
    kind = UnicodeAttribute(range_key=True, attr_name="sk", default="progress")
    cursor = UnicodeAttribute()
    finished_at = UnicodeAttribute(attr_name="finishedAt", null=True)


MODELS = (Task, IdempotencyRecord, Usage, ReminderProgress)


def configure(config) -> None:
    """Point the models at the stage's table; DYNAMODB_ENDPOINT names a local DynamoDB."""
    for model in MODELS:
        meta = model.Meta
        meta.table_name = config["TABLE_NAME"]
        meta.region = config["AWS_REGION"]
        meta.host = config["DYNAMODB_ENDPOINT"]
        meta.connect_timeout_seconds = config["DYNAMODB_CONNECT_TIMEOUT"]
        meta.read_timeout_seconds = config["DYNAMODB_READ_TIMEOUT"]
        meta.max_retry_attempts = config["DYNAMODB_MAX_RETRIES"]
        # PynamoDB caches its connection per model: drop it so the settings above apply.
        model._connection = None
