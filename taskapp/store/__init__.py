"""The data layer: every read and write of the table, one room per capability.

The store knows nothing of HTTP: it raises the domain errors of store/base.py, and
errors.py maps them to statuses. Views call the functions re-exported here.
"""

from .base import (
    IdempotencyKeyReused,
    InvalidSyncToken,
    PreconditionFailed,
    StoreMisconfigured,
    StoreUnavailable,
    SyncTokenExpired,
    TableMismatch,
    TaskLimitReached,
    TaskNotFound,
    configure,
)
from .feed import SyncPosition, read_changes
from .lists import ListFilters, list_tasks
from .reminders import Recipient, ReminderNeedsAddress, ReminderNeedsTime, start_reminders_now
from .table import check_indexes, ensure_table, migrate_table
from .tasks import IDEMPOTENCY_WINDOW, create_task, delete_task, get_task, ping, update_task

__all__ = [
    "IDEMPOTENCY_WINDOW",
    "IdempotencyKeyReused",
    "InvalidSyncToken",
    "ListFilters",
    "PreconditionFailed",
    "Recipient",
    "ReminderNeedsAddress",
    "ReminderNeedsTime",
    "StoreMisconfigured",
    "StoreUnavailable",
    "SyncPosition",
    "SyncTokenExpired",
    "TableMismatch",
    "TaskLimitReached",
    "TaskNotFound",
    "check_indexes",
    "configure",
    "create_task",
    "delete_task",
    "ensure_table",
    "get_task",
    "list_tasks",
    "migrate_table",
    "ping",
    "read_changes",
    "start_reminders_now",
    "update_task",
]
