"""Many tasks with due reminders, written straight to the table (in batches) as store.create_task
would have shaped them: for the reminder tests and benchmark, where the API would be too slow."""

from datetime import datetime

from uuid6 import uuid7

from taskapp.models import Task, task_partition
from taskapp.store import Recipient
from taskapp.store import reminders as filed


def seed_due_reminders(count: int, due: datetime, stamp: datetime, link: str) -> dict:
    """``count`` pending tasks written at ``stamp``, each of its own owner user-<i> and address
    user-<i>@example.com, with a reminder at ``due``; returns each taskId's address."""
    addresses = {}
    with Task.batch_write() as batch:
        for i in range(count):
            task = Task(
                task_partition(f"user-{i}"),
                str(uuid7()),
                title=f"Seeded reminder {i:05d}",
                description="",
                status="pending",
                priority="medium",
                tags=[],
                reminder_enabled=True,
                reminder_at=due,
                created_at=stamp,
                updated_at=stamp,
                version=1,
            )
            task.set_index_keys()
            address = f"user-{i}@example.com"
            filed.arm_created(task, stamp, Recipient(address, link))
            batch.save(task)
            addresses[task.task_id] = address
    return addresses
