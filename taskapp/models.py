"""The DynamoDB table behind taskapp, as PynamoDB models.

One table per stage. Items are keyed by owner (partition key ``pk``) and taskId (sort key
``sk``): every single-task operation addresses exactly one item, and an owner's list is one
Query. TaskIds are time-ordered UUIDs (version 7), so the sort key orders tasks by creation.
The local secondary index orders each owner's tasks by status, then taskId, so a status filter
is a Query too, and a strongly consistent one, which a global index could not be.
"""

from datetime import UTC, datetime

from pynamodb.attributes import (
    Attribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE, STRING
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model


def format_timestamp(value: datetime) -> str:
    """UTC with milliseconds and Z, the one time format of the API: 2025-09-29T10:00:00.000Z."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TimestampAttribute(Attribute[datetime]):
    """A UTC datetime stored as the API shows it, so the table reads like the API."""

    attr_type = STRING

    def serialize(self, value):
        return format_timestamp(value)

    def deserialize(self, value):
        return datetime.fromisoformat(value)


class StatusIndex(LocalSecondaryIndex):
    """An owner's tasks by status, newest first within a status."""

    class Meta:
        index_name = "status-index"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True, attr_name="pk")
    status_key = UnicodeAttribute(range_key=True, attr_name="statusKey")


class Task(Model):
    class Meta:
        # Set from the app's config by configure(); see create_app().
        table_name = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    owner = UnicodeAttribute(hash_key=True, attr_name="pk")
    task_id = UnicodeAttribute(range_key=True, attr_name="sk")
    # "<status>#<taskId>": the sort key of the status index.
    status_key = UnicodeAttribute(attr_name="statusKey")
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    status = UnicodeAttribute()
    priority = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    due_date = TimestampAttribute(null=True, attr_name="dueDate")
    created_at = TimestampAttribute(attr_name="createdAt")
    updated_at = TimestampAttribute(attr_name="updatedAt")
    completed_at = TimestampAttribute(null=True, attr_name="completedAt")
    version = NumberAttribute()

    status_index = StatusIndex()

    @staticmethod
    def status_key_for(status: str, task_id: str) -> str:
        return f"{status}#{task_id}"


class IdempotencyRecord(Model):
    """What the first POST with an Idempotency-Key created, kept for 24 hours.

    Records share the table: their partition is "idempotency#<owner>", so an owner's task
    Query never meets them, and DynamoDB's TTL deletes them after expiresAt.
    """

    class Meta:
        table_name = None

    owner_key = UnicodeAttribute(hash_key=True, attr_name="pk")
    key = UnicodeAttribute(range_key=True, attr_name="sk")
    request_hash = UnicodeAttribute(attr_name="requestHash")
    # The task as first created, in DynamoDB's JSON: what a retry answers.
    task = UnicodeAttribute()
    expires_at = TTLAttribute(attr_name="expiresAt")

    @staticmethod
    def partition_for(owner: str) -> str:
        return f"idempotency#{owner}"


MODELS = (Task, IdempotencyRecord)


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
