"""Lists of tasks (SPEC sections 2 and 8): index ranges read in order, merged, then narrowed.

``status`` and the due bounds choose index ranges: one range of the status index or of the due
index when the status is given, the two statuses' ranges merged in order when it is not. Every
range is a strongly consistent Query that reads only what the page needs. ``priority``,
``category``, ``tag`` and ``q`` narrow what those reads find, within a budget of 10 x limit items
per call, and the cursor then names where reading stopped.
"""

import heapq
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..models import (
    DECIMAL,
    DUE_BASES,
    DUE_STEP,
    NO_DUE,
    Task,
    due_milliseconds,
    due_position,
    status_key,
    task_partition,
)
from .base import check_task_id, translated_errors

STATUSES = ("pending", "completed")
# SPEC 8: a call with narrowing filters reads at most this many items per task it may return.
READ_BUDGET_PER_TASK = 10


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    priority: str | None = None
    category: str | None = None
    tag: str | None = None
    q: str | None = None

    @property
    def by_due(self) -> bool:
        """Lists with a due bound come earliest due first; the others newest first."""
        return self.due_after is not None or self.due_before is not None

    def narrows(self) -> bool:
        return any(v is not None for v in (self.priority, self.category, self.tag, self.q))

    def admits(self, task: Task) -> bool:
        if self.priority is not None and task.priority != self.priority:
            return False
        if self.category is not None and task.category != self.category:
            return False
        if self.tag is not None and self.tag not in (task.tags or ()):
            return False
        if self.q is not None:
            needle = self.q.casefold()
            return needle in task.title.casefold() or needle in task.description.casefold()
        return True


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last task read, and its due date in due-ordered lists."""

    task_id: str
    due: datetime | None = None


def list_tasks(owner: str, limit: int, filters: ListFilters, after: Position | None = None):
    """One page of the owner's tasks and the position to continue after (None on the last page)."""
    if after is not None:
        check_task_id(after.task_id)
    statuses = (filters.status,) if filters.status else STATUSES
    if filters.narrows():
        budget, first_page = READ_BUDGET_PER_TASK * limit // len(statuses), limit + 1
    else:
        budget = first_page = limit + 1
    partition = task_partition(owner)
    if filters.by_due:
        ranges = [_due_range(partition, status, filters, after) for status in statuses]
        order = {"key": _due_order}
    else:
        ranges = [_status_range(partition, status, after) for status in statuses]
        order = {"key": _newest_order, "reverse": True}
    sources = [_read(query, budget, first_page) for query in ranges if query is not None]
    with translated_errors():
        return _page(heapq.merge(*sources, **order), limit, filters)


def _page(entries, limit, filters):
    found = []
    for task, boundary in entries:
        if boundary:
            # A range spent its budget: nothing past this task has been read in every range.
            return found, _position(task, filters)
        if filters.admits(task):
            if len(found) == limit:
                return found, _position(found[-1], filters)
            found.append(task)
    return found, None


def _position(task: Task, filters: ListFilters) -> Position:
    return Position(task.task_id, task.due_date if filters.by_due else None)


def _newest_order(entry):
    return entry[0].task_id


def _due_order(entry):
    return entry[0].due_pos


def _read(query, budget, first_page):
    """One index range in order, in pages growing from ``first_page``, at most ``budget`` items.

    Yields (task, False) for each item, then (last task, True) if the budget ran out first.
    """
    start, size, left = None, first_page, budget
    while True:
        page = query(min(size, left), start)
        last = None
        for task in page:
            last = task
            yield task, False
        left -= page.total_count
        start = page.last_evaluated_key
        if start is None:
            return
        if left <= 0:
            if last is not None:
                yield last, True
            return
        size *= 2


def _status_range(partition, status, after):
    """The status index for one status, newest first, after the cursor's task."""
    first = None
    if after is not None:
        key = status_key(status, after.task_id)
        first = _start_key(partition, after.task_id, Task.status_key, key)
    condition = Task.status_key.startswith(status_key(status, ""))
    return _range(Task.status_index, partition, condition, first, newest_first=True)


def _due_range(partition, status, filters, after):
    """The due index for one status between the bounds, earliest first, after the cursor."""
    base = DUE_BASES[status]
    low = due_milliseconds(filters.due_after) if filters.due_after else Decimal(0)
    if after is not None:
        low = DECIMAL.add(due_position(after.due, after.task_id), DUE_STEP)
    high = due_milliseconds(filters.due_before) if filters.due_before else NO_DUE
    # dueBefore is exclusive: the last key below it is one step under it.
    lowest, highest = DECIMAL.add(base, low), DECIMAL.subtract(DECIMAL.add(base, high), DUE_STEP)
    if lowest > highest:
        return None  # an empty range (dueAfter = dueBefore, or a cursor past the end)
    return _range(Task.due_index, partition, Task.due_key.between(lowest, highest), None)


def _range(index, partition, condition, first, newest_first=False):
    """A range of an index as ``query(limit, start)``: one strongly consistent Query a page."""

    def query(limit, start):
        return index.query(
            partition,
            condition,
            scan_index_forward=not newest_first,
            consistent_read=True,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start or first,
        )

    return query


def _start_key(partition, task_id, index_attribute, index_value):
    """The DynamoDB key a page starts after: the table's keys, and the index's."""
    return {
        Task.partition.attr_name: {"S": partition},
        Task.task_id.attr_name: {"S": task_id},
        index_attribute.attr_name: {index_attribute.attr_type: str(index_value)},
    }
