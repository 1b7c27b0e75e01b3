"""Benchmark: taskapp beside a peer, its four single-task operations written for Chalice.

Both run as Lambda runs them, in a bare interpreter (tools/lambda_runner.py) against one
DynamoDB Local: taskapp from its `make package` zip through Zappa's handler with the dev
stage's settings, as bench_lambda.py runs it; the peer (benchmarks/peer_chalice) from its app.py
and Chalice's runtime, with a table of its own. Each sees boto3 and its dependencies besides,
as the Lambda runtime provides them. Prints, per operation, the warm median of each side and
taskapp's ratio to the peer's against BAR; then the same for the cold start, from spawning the
interpreter to the first answer (a GET of a task that does not exist). The two sides take turns
in every round, so a machine that slows down slows both. Every answer's status is checked
before any figure is kept: a side that fails cannot be fast. Run with `make bench`.
"""

import statistics
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import NamedTuple

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_lambda import build_package, create_table, lambda_env, run  # noqa: E402
from tests.events import rest_event  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.lambda_runner import unpack  # noqa: E402

PEER = ROOT / "benchmarks" / "peer_chalice"
PEER_TABLE = "taskapp-peer"
BAR = 1.25  # taskapp may take up to this many times the peer's warm latency
ROUNDS = 7  # warm: each round runs BATCH calls of every operation on each side
BATCH = 60
WARMUP_ROUNDS = 20  # rounds run before the measured ones, and not counted
COLD_RUNS = 9
TASK = "/tasks/{taskId}"  # the task the latest answer carried (tools/lambda_runner.py)
MISSING = "/tasks/no-such-task"


def chalice_event(method, route, path, body=None):
    """rest_event as API Gateway sends it to a Chalice app, where every route is a resource of
    its own and the route's variables come in pathParameters."""
    event = rest_event(method, path, body=body)
    event["resource"] = event["requestContext"]["resourcePath"] = route
    variables = {
        name[1:-1]: value
        for name, value in zip(route.split("/"), path.split("/"), strict=True)
        if name.startswith("{")
    }
    event["pathParameters"] = variables or None
    return event


# Per side: each operation's event and the status it must answer, then the cold start's GET.
TASKAPP = {
    "create": (rest_event("POST", "/tasks", body={"title": "Warm"}), 201),
    "get": (rest_event("GET", TASK), 200),
    "update": (rest_event("PATCH", TASK, body={"status": "completed"}), 200),
    "delete": (rest_event("DELETE", TASK), 200),
    "cold": (rest_event("GET", MISSING), 404),
}
CHALICE = {
    "create": (chalice_event("POST", "/tasks", "/tasks", body={"title": "Warm"}), 201),
    "get": (chalice_event("GET", "/tasks/{task_id}", TASK), 200),
    "update": (chalice_event("PUT", "/tasks/{task_id}", TASK, body={"status": "completed"}), 200),
    "delete": (chalice_event("DELETE", "/tasks/{task_id}", TASK), 200),
    "cold": (chalice_event("GET", "/tasks/{task_id}", MISSING), 404),
}
OPERATIONS = ("create", "get", "update", "delete")


class Side(NamedTuple):
    """One of the two, as tools/lambda_runner.py runs it."""

    name: str
    task: Path  # Lambda's /var/task
    runtime: Path  # what the Lambda runtime provides: boto3 and its dependencies
    env: dict
    events: dict  # TASKAPP or CHALICE


def lay_out_peer(folder):
    """The peer as Chalice packages it: app.py with Chalice's runtime beside it."""
    peer = Path(folder) / "peer"
    peer.mkdir()
    (peer / "app.py").symlink_to(PEER / "app.py")
    (peer / "chalice").symlink_to(Path(sysconfig.get_paths()["purelib"]) / "chalice")
    return peer


def create_peer_table(endpoint):
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client.create_table(
        TableName=PEER_TABLE,
        KeySchema=[{"AttributeName": "taskId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "taskId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=PEER_TABLE)


def call(side, names, folder):
    """Run the side's events ``names`` in a fresh process: its results, every status checked."""
    events = [side.events[name][0] for name in names]
    result = run(side.task, side.runtime, events, side.env, folder)
    for name, answer in zip(names, result["results"], strict=True):
        status, expected = answer["response"]["statusCode"], side.events[name][1]
        if status != expected:
            body = answer["response"].get("body")
            raise RuntimeError(f"{side.name}: {name} answered {status}, not {expected}: {body}")
    return result


def in_turns(number, sides):
    """Both sides, taskapp first in even rounds and last in odd ones."""
    return sides if number % 2 == 0 else sides[::-1]


def main():
    package, _ = build_package()
    with DynamoDBLocal() as database, tempfile.TemporaryDirectory() as folder:
        create_table(database.endpoint)
        create_peer_table(database.endpoint)
        task, runtime = unpack(package, folder)
        env = lambda_env(database.endpoint)
        peer_env = env | {
            "TABLE_NAME": PEER_TABLE,
            "AWS_LAMBDA_FUNCTION_NAME": PEER_TABLE,
            "_HANDLER": "app.app",
        }
        sides = (
            Side("taskapp", task, runtime, env, TASKAPP),
            Side("chalice", lay_out_peer(folder), runtime, peer_env, CHALICE),
        )

        # DynamoDB Local is a JVM: it answers its first thousands of requests slower, and
        # taskapp's transactions take paths of its code that the peer's writes do not.
        for number in range(WARMUP_ROUNDS):
            for side in in_turns(number, sides):
                call(side, OPERATIONS * BATCH, folder)
        warm = {side.name: {operation: [] for operation in OPERATIONS} for side in sides}
        for number in range(ROUNDS):
            for side in in_turns(number, sides):
                results = call(side, OPERATIONS * BATCH, folder)["results"]
                # The first of each operation warms the process up: left out.
                for index, operation in enumerate(OPERATIONS):
                    calls = results[len(OPERATIONS) + index :: len(OPERATIONS)]
                    warm[side.name][operation] += [r["ms"] for r in calls]

        cold = {side.name: [] for side in sides}
        for number in range(COLD_RUNS):
            for side in in_turns(number, sides):
                cold[side.name].append(call(side, ("cold",), folder)["first_answer_ms"])

    calls = ROUNDS * (BATCH - 1)
    print("taskapp beside its Chalice peer, each through its Lambda handler")
    print(f"\nwarm (median of {calls} calls each, {ROUNDS} rounds taking turns):")
    print(f"  {'':<10}{'taskapp':>10}{'chalice':>10}{'ratio':>8}   bar {BAR:.2f}x")
    for operation in OPERATIONS:
        ours, peers = (statistics.median(warm[side.name][operation]) for side in sides)
        verdict = "met" if ours / peers <= BAR else "not met"
        print(f"  {operation:<10}{ours:>7.2f} ms{peers:>7.2f} ms{ours / peers:>7.2f}x   {verdict}")
    ours, peers = (statistics.median(cold[side.name]) for side in sides)
    print(f"\ncold start, spawn to the first answer (a 404; median of {COLD_RUNS} runs each):")
    print(f"  {'GET 404':<10}{ours:>7.0f} ms{peers:>7.0f} ms{ours / peers:>7.2f}x")


if __name__ == "__main__":
    main()
