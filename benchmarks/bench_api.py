"""Benchmark: what each operation costs in DynamoDB requests and time, against DynamoDB Local.

Prints, for each operation, the DynamoDB requests it issues (SPEC.md section 5 wants exactly
1 for create, get, update and delete) and its median and p99 latency through the app; then
the cost of one list page of 50 with 100 and with 10,000 tasks in the table, which must stay
flat (within 1.2x). Every figure is the median of several runs. Run with `make bench`.
"""

import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from uuid6 import uuid7  # noqa: E402

from taskapp import create_app, store  # noqa: E402
from taskapp.config import Config  # noqa: E402
from taskapp.models import Task  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.meter import DynamoDBMeter  # noqa: E402

RUNS = 5
SAMPLES = 40  # per run and operation
PAGE = 50


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


def build_app(endpoint, table):
    os.environ.update(TABLE_NAME=table, DYNAMODB_ENDPOINT=endpoint)
    app = create_app(Config())
    with app.app_context():
        store.ensure_table()
    return app


def seed(owner, count):
    """Write ``count`` tasks straight into the table, as create_task would shape them."""
    now = datetime.now(UTC)
    with Task.batch_write() as batch:
        for i in range(count):
            task_id = str(uuid7())
            status = "completed" if i % 2 else "pending"
            batch.save(
                Task(
                    owner,
                    task_id,
                    status_key=Task.status_key_for(status, task_id),
                    title=f"Seeded task {i:05d}",  # the same size in every table
                    description="",
                    status=status,
                    priority="medium",
                    tags=[],
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )


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
        "delete": lambda: client.delete(f"/tasks/{next(doomed)}"),
    }
    rows = []
    for name, call in operations.items():
        meter.reset()
        response = call()
        assert response.status_code < 300, (name, response.status_code, response.get_json())
        requests = list(meter.operations)
        runs = [timed(call, SAMPLES) for _ in range(RUNS)]
        median = statistics.median(statistics.median(times) for times in runs)
        p99 = statistics.median(percentile(times, 0.99) for times in runs)
        rows.append((name, requests, median, p99))
    return rows


def page_cost(client, meter):
    """Median latency and read capacity of one list page, unfiltered and filtered."""
    figures = {}
    for label, query in (("all", ""), ("status=pending", "&status=pending")):
        medians, units = [], []
        for _ in range(RUNS):
            meter.reset()
            times = timed(lambda q=query: client.get(f"/tasks?limit={PAGE}{q}"), SAMPLES)
            medians.append(statistics.median(times))
            units.append(meter.capacity / SAMPLES)
        figures[label] = (statistics.median(medians), statistics.median(units))
    return figures


def main():
    with DynamoDBLocal() as database:
        print(f"DynamoDB Local at {database.endpoint}; {RUNS} runs x {SAMPLES} calls each\n")
        app = build_app(database.endpoint, "taskapp-bench-ops")
        client = app.test_client()
        with DynamoDBMeter() as meter:
            rows = operation_figures(client, meter)
        print(f"{'operation':<22}{'DynamoDB requests':<34}{'median ms':>10}{'p99 ms':>10}")
        for name, requests, median, p99 in rows:
            calls = f"{len(requests)} ({', '.join(requests)})"
            print(f"{name:<22}{calls:<34}{median:>10.2f}{p99:>10.2f}")

        owner = app.config["LOCAL_OWNER"]
        costs = {}
        for size in (100, 10_000):
            app = build_app(database.endpoint, f"taskapp-bench-{size}")
            seed(owner, size)
            with DynamoDBMeter() as meter:
                costs[size] = page_cost(app.test_client(), meter)

        print(f"\nOne list page of {PAGE} (median of {RUNS} runs):")
        print(f"{'list':<18}{'tasks in table':>16}{'median ms':>12}{'read units':>12}")
        for label in ("all", "status=pending"):
            for size in (100, 10_000):
                median, units = costs[size][label]
                print(f"{label:<18}{size:>16,}{median:>12.2f}{units:>12.1f}")
            small, large = costs[100][label], costs[10_000][label]
            print(
                f"{'  ratio 10,000/100':<34}{large[0] / small[0]:>12.2f}x"
                f"{large[1] / small[1]:>11.2f}x"
            )


if __name__ == "__main__":
    main()
