"""Benchmark: what each operation costs in DynamoDB requests, capacity and time, on DynamoDB Local.

Prints three tables.

1. Per operation: the DynamoDB requests it issues (SPEC.md section 5 wants exactly 1 for
   create, get, update and delete) and its median and p99 latency through the app.
2. Per kind of write: the write units it consumes, the table's and each local index's apart
   (ReturnConsumedCapacity=INDEXES), and their total: create, update of the title, update that
   moves the status, update that moves the due date, delete (which leaves a tombstone), a
   create with an Idempotency-Key (a transaction, which DynamoDB bills twice), and the writes
   of a task with a reminder, which also write the global reminder index.
3. Per read (SPEC sections 2, 8 and 9), in a table of 100 tasks and in one of 10,000, each also
   holding one tombstone for every ten tasks, deleted among them: the tasks a call returns, the
   items it reads, its read units and median latency, and the ratio 10,000/100, which must stay
   flat. The views: the unfiltered list, status=pending, overdue, due within the coming week,
   priority=high and a `q` that matches nothing (narrowing filters, which may read up to
   10 x limit), a change-feed page from scratch and an incremental sync that finds nothing new.
   The list views whose matches in the small table are fewer than 50 use a limit of 10, so that
   both tables fill the page they are compared on. Items read equal to what a page needs show
   that lists never read tombstones; the change feed does, as it serves them.

Every figure is the median of several runs. Run with `make bench`.
"""

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # one log line per request would bury the figures

from uuid6 import uuid7  # noqa: E402

from taskapp import create_app, store  # noqa: E402
from taskapp.config import Config  # noqa: E402
from taskapp.models import Task, format_timestamp, task_partition  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.meter import DynamoDBMeter  # noqa: E402

RUNS = 5
SAMPLES = 40  # per run and operation
WRITE_SAMPLES = 5  # writes measured per kind: their units should not vary at all
PAGE = 50
SMALL_PAGE = 10  # for views that hold fewer than PAGE tasks in the small table
SIZES = (100, 10_000)
TOMBSTONE_EVERY = 11  # one task in 11 is deleted: 10 tombstones per 100 live tasks
INDEXES = tuple(
    index.Meta.index_name
    for index in (Task.status_index, Task.due_index, Task.changes_index, Task.reminder_index)
)
PRIORITIES = ("low", "medium", "high")
CATEGORIES = ("work", "home", None, "errands", None)
TAGS = ([], ["urgent"], [], ["email"], ["urgent", "email"], [], ["waiting"])


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(call, samples):
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def succeeded(response, what):
    """The response, after checking that the benchmark measured a success and not an error."""
    if response.status_code >= 300:
        raise RuntimeError(f"{what}: {response.status_code} {response.get_json()}")
    return response


def build_app(endpoint, table):
    """An app on ``table``; the models then point at that table until the next build_app."""
    os.environ.update(TABLE_NAME=table, DYNAMODB_ENDPOINT=endpoint)
    app = create_app(Config())
    with app.app_context():
        store.ensure_table()
    return app


def seed(owner, count):
    """Write ``count`` live tasks and count/10 tombstones, as the API would have shaped them.

    Tasks were made over the last 60 days (none in the change feed's settle period); half have a
    due date, from 7 days ago to 7 days ahead; statuses alternate; priorities, categories and
    tags vary. Live tasks go in with batch_write, then one in 11 is deleted through the store,
    which turns it into a tombstone, so tombstones sit among the tasks every list reads first.
    """
    total = count + count // (TOMBSTONE_EVERY - 1)
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first, span = now - timedelta(days=60), timedelta(days=59)
    doomed = []
    with Task.batch_write() as batch:
        for i in range(total):
            stamp = first + span * i / total
            status = "completed" if i % 2 else "pending"
            due = None
            if i % 4 < 2:  # half the tasks, as many pending as completed
                due = today + timedelta(days=(i // 4) % 15 - 7, hours=8 + i % 10)
            task = Task(task_partition(owner), str(uuid7()))
            task.title = f"Seeded task {i:05d}"  # the same size in every table
            task.description = ""
            task.status = status
            task.priority = PRIORITIES[i % len(PRIORITIES)]
            task.category = CATEGORIES[i % len(CATEGORIES)]
            task.tags = TAGS[i % len(TAGS)]
            task.due_date = due
            task.created_at = task.updated_at = stamp
            task.completed_at = stamp if status == "completed" else None
            task.version = 1
            task.set_index_keys()
            batch.save(task)
            if i % TOMBSTONE_EVERY == TOMBSTONE_EVERY - 1:
                doomed.append(task.task_id)
    for task_id in doomed:
        store.delete_task(owner, task_id)
    return len(doomed)


def operation_figures(client, meter):
    """Requests per call, and median of the runs' median and p99 latency, per operation."""

    def new_task(title="Benchmark"):
        return client.post("/tasks", json={"title": title}).get_json()["task"]["taskId"]

    task_id = new_task()
    # Each delete needs a task of its own: one for the request count, then one per sample.
    doomed = iter([new_task("Delete me") for _ in range(RUNS * SAMPLES + 1)])
    operations = {
        "create": lambda: client.post("/tasks", json={"title": "Benchmark", "tags": ["a", "b"]}),
        "get": lambda: client.get(f"/tasks/{task_id}"),
        "update (PATCH)": lambda: client.patch(f"/tasks/{task_id}", json={"status": "completed"}),
        "update with If-Match": lambda: client.put(
            f"/tasks/{task_id}", json={"title": "x"}, headers={"If-Match": "*"}
        ),
        "list page of 50": lambda: client.get(f"/tasks?limit={PAGE}"),
        "changes page of 50": lambda: client.get(f"/tasks/changes?limit={PAGE}"),
        "delete": lambda: client.delete(f"/tasks/{next(doomed)}"),
    }
    rows = []
    for name, call in operations.items():
        meter.reset()
        succeeded(call(), name)
        requests = list(meter.operations)
        runs = [timed(call, SAMPLES) for _ in range(RUNS)]
        median = statistics.median(statistics.median(times) for times in runs)
        p99 = statistics.median(percentile(times, 0.99) for times in runs)
        rows.append((name, requests, median, p99))
    return rows


def write_units(client, log):
    """Write units of each kind of write, per table and index: the median of a few writes each."""
    now = datetime.now(UTC)
    later = format_timestamp(now + timedelta(days=5))
    later2 = format_timestamp(now + timedelta(days=6))
    fields = {"title": "Benchmark", "tags": ["a", "b"], "dueDate": format_timestamp(now)}

    def new_task():
        return client.post("/tasks", json=fields).get_json()["task"]["taskId"]

    def patch(task_id, changes):
        return client.patch(f"/tasks/{task_id}", json=changes)

    def idempotent_create(_):
        key = {"Idempotency-Key": str(uuid7())}
        return client.post("/tasks", json=fields, headers=key)

    # Reminders need a caller with a verified address: a development token with one.
    runner = client.application.test_cli_runner()
    token = runner.invoke(args=["dev-token", "bench", "--email", "bench@example.com"]).output
    signed = {"Authorization": f"Bearer {token.strip()}"}
    reminded = fields | {"reminderEnabled": True, "reminderAt": later}

    def new_reminder():
        answer = client.post("/tasks", json=reminded, headers=signed)
        return answer.get_json()["task"]["taskId"]

    def patch_reminder(task_id, changes):
        return client.patch(f"/tasks/{task_id}", json=changes, headers=signed)

    writes = (
        ("create", None, lambda _: client.post("/tasks", json=fields)),
        ("update (PATCH title)", new_task, lambda t: patch(t, {"title": "x"})),
        ("update: status", new_task, lambda t: patch(t, {"status": "completed"})),
        ("update: dueDate", new_task, lambda t: patch(t, {"dueDate": later})),
        ("delete", new_task, lambda t: client.delete(f"/tasks/{t}")),
        ("create, Idempotency-Key", None, idempotent_create),
        ("create, reminder", None, lambda _: client.post("/tasks", json=reminded, headers=signed)),
        ("update title, reminder", new_reminder, lambda t: patch_reminder(t, {"title": "x"})),
        (
            "update status, reminder",
            new_reminder,
            lambda t: patch_reminder(t, {"status": "completed"}),
        ),
        ("update: reminderAt", new_reminder, lambda t: patch_reminder(t, {"reminderAt": later2})),
    )
    rows = []
    for name, prepare, write in writes:
        samples = []
        for _ in range(WRITE_SAMPLES):
            task_id = prepare() if prepare else None
            log.reset()
            succeeded(write(task_id), name)
            samples.append(list(log.requests))
        requests = ", ".join(call.operation for call in samples[0])
        parts = {
            part: statistics.median(sum(c.units.get(part, 0.0) for c in calls) for calls in samples)
            for part in ("table", *INDEXES)
        }
        total = statistics.median(sum(c.capacity or 0 for c in calls) for calls in samples)
        rows.append((name, requests, parts, total))
    return rows


def list_views(now):
    """(name, limit, query string) of each list measured; the due bounds are fixed once."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = f"dueAfter={format_timestamp(today)}&dueBefore={format_timestamp(today + timedelta(7))}"
    return (
        ("all", PAGE, ""),
        ("status=pending", PAGE, "status=pending"),
        ("overdue", SMALL_PAGE, f"status=pending&dueBefore={format_timestamp(now)}"),
        ("due within a week", SMALL_PAGE, week),
        ("priority=high", SMALL_PAGE, "priority=high"),
        ("q, no match", SMALL_PAGE, "q=no-such-words"),
    )


def read_cost(client, log, url, returned):
    """Median latency, read units, items read and tasks returned of one call to ``url``."""
    # The first call (not timed) warms up and says how many tasks a call returns.
    count = returned(succeeded(client.get(url), url).get_json())
    medians, units, items = [], [], []
    for _ in range(RUNS):
        log.reset()
        times = timed(lambda: succeeded(client.get(url), url), SAMPLES)
        medians.append(statistics.median(times))
        units.append(log.capacity / SAMPLES)
        items.append(sum(call.items_read for call in log.requests) / SAMPLES)
    return statistics.median(medians), statistics.median(units), statistics.median(items), count


def list_costs(client, log, views):
    return {
        name: (limit, read_cost(client, log, f"/tasks?limit={limit}&{query}", _list_count))
        for name, limit, query in views
    }


def feed_costs(client, log):
    """A change-feed page from scratch, and a sync that finds nothing new once at the end."""
    figures = {
        "changes from scratch": (
            PAGE,
            read_cost(client, log, f"/tasks/changes?limit={PAGE}", _feed_count),
        )
    }
    token, more = None, True
    while more:
        since = f"&since={token}" if token else ""
        answer = succeeded(client.get(f"/tasks/changes?limit=500{since}"), "sync").get_json()
        token, more = answer["syncToken"], answer["hasMore"]
    url = f"/tasks/changes?limit={PAGE}&since={token}"
    figures["changes, nothing new"] = (PAGE, read_cost(client, log, url, _feed_count))
    return figures


def _list_count(answer):
    return answer["count"]


def _feed_count(answer):
    return len(answer["tasks"]) + len(answer["deleted"])


def print_operations(rows):
    print(f"{'operation':<22}{'DynamoDB requests':<34}{'median ms':>10}{'p99 ms':>10}")
    for name, requests, median, p99 in rows:
        calls = f"{len(requests)} ({', '.join(requests)})"
        print(f"{name:<22}{calls:<34}{median:>10.2f}{p99:>10.2f}")


def print_write_units(rows):
    print(f"\nWrite units per write (ReturnConsumedCapacity=INDEXES, median of {WRITE_SAMPLES}):")
    header = "".join(f"{part:>15}" for part in ("table", *INDEXES))
    print(f"{'write':<26}{'request':<20}{header}{'total':>8}")
    for name, requests, parts, total in rows:
        figures = "".join(f"{parts[part]:>15.1f}" for part in ("table", *INDEXES))
        print(f"{name:<26}{requests:<20}{figures}{total:>8.1f}")


def print_read_costs(costs, tombstones):
    extra = ", ".join(f"{size:,} tasks + {tombstones[size]:,}" for size in SIZES)
    print(f"\nOne read call (median of {RUNS} runs x {SAMPLES} calls); tombstones: {extra}")
    print(
        f"{'read':<22}{'limit':>6}{'tasks in table':>16}{'returned':>10}{'items read':>12}"
        f"{'read units':>12}{'median ms':>11}"
    )
    for name, (limit, _) in costs[SIZES[0]].items():
        for size in SIZES:
            median, units, items, count = costs[size][name][1]
            print(
                f"{name:<22}{limit:>6}{size:>16,}{count:>10}{items:>12.1f}"
                f"{units:>12.1f}{median:>11.2f}"
            )
        small, large = costs[SIZES[0]][name][1], costs[SIZES[-1]][name][1]
        print(
            f"{f'  ratio {SIZES[-1]:,}/{SIZES[0]:,}':<54}{_ratio(large[2], small[2]):>12}"
            f"{_ratio(large[1], small[1]):>12}{_ratio(large[0], small[0]):>11}"
        )
    print(
        "(DynamoDB Local reports 0 units for a Query that reads no item: the minimum a read "
        "can cost.)"
    )


def _ratio(large, small):
    if small == 0:
        return "same" if large == 0 else "-"
    return f"{large / small:.2f}x"


def main():
    with DynamoDBLocal() as database:
        print(f"DynamoDB Local at {database.endpoint}; {RUNS} runs x {SAMPLES} calls each\n")
        app = build_app(database.endpoint, "taskapp-bench-ops")
        client = app.test_client()
        with DynamoDBMeter() as meter:
            rows = operation_figures(client, meter)
        print_operations(rows)
        with DynamoDBMeter(indexes=True) as log:
            print_write_units(write_units(client, log))

        owner = app.config["LOCAL_OWNER"]
        settle = app.config["SYNC_SETTLE_SECONDS"]
        views = list_views(datetime.now(UTC))
        costs, tombstones = {}, {}
        for size in SIZES:
            app = build_app(database.endpoint, f"taskapp-bench-{size}")
            started = time.perf_counter()
            tombstones[size] = seed(owner, size)
            last_write = time.monotonic()
            seconds = time.perf_counter() - started
            print(f"\nseeded {size:,} tasks and {tombstones[size]:,} tombstones in {seconds:.1f} s")
            with DynamoDBMeter(indexes=True) as log:
                costs[size] = list_costs(app.test_client(), log, views)
        # A sync token resumes `settle` seconds back, so a sync within that time of the last
        # write (the tombstones) would read it again: measure "nothing new" once it has passed.
        wait = settle - (time.monotonic() - last_write)
        if wait > 0:
            print(f"waiting {wait:.0f} s for the change feed's settle period to pass")
            time.sleep(wait)
        for size in SIZES:
            app = build_app(database.endpoint, f"taskapp-bench-{size}")
            with DynamoDBMeter(indexes=True) as log:
                costs[size] |= feed_costs(app.test_client(), log)
        print_read_costs(costs, tombstones)


if __name__ == "__main__":
    main()
