"""Upgrading a stage: `flask create-table` refuses the previous release's table, and
`flask migrate-table` copies it into one that serves every task as the old release showed it.

The old table is made here as release 8a74601 made it (raw boto3, its key schema and its one
index), and filled with items in that release's shape: tasks under the owner's bare sub, keyed
requests under "idempotency#<sub>".
"""

import json
import time
import uuid

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from uuid6 import uuid7

from taskapp import create_app
from taskapp.config import TestConfig

ALICE, BOB, LOCAL = "alice", "bob", "local"  # LOCAL: the owner of calls without a token


def task(task_id, title, created_at, **fields):
    """A task as this release answers what the previous release stored, with its defaults
    (the previous release had no reminders: they read as off)."""
    return {
        "taskId": task_id,
        "title": title,
        "description": "",
        "status": "pending",
        "createdAt": created_at,
        "updatedAt": created_at,
        "dueDate": None,
        "priority": "medium",
        "category": None,
        "tags": [],
        "completedAt": None,
        "reminderEnabled": False,
        "reminderAt": None,
        "version": 1,
    } | fields


PASSPORT = task(
    "019970b4-f04a-7651-8317-1ff4a6a3a450",
    "Renew passport",
    "2025-09-22T09:15:30.250Z",
    dueDate="2025-10-01T15:00:00.000Z",
    priority="high",
    category="admin",
    tags=["passport", "travel"],
)
PRESENTS = task(
    "0199a3d3-f13d-70ed-a079-d3bde8e25d94",
    "Buy presents",
    "2025-10-02T07:30:00.125Z",
    dueDate="2025-12-24T18:00:00.000Z",
    category="family",
)
PLAN = task("01998fc3-d500-76f0-8478-82e36b0d549b", "Plan the week", "2025-09-28T10:00:00.000Z")

TASKS = {
    ALICE: [
        task(
            "01996623-1800-752e-89a7-834df2a74de4", "Water the plants", "2025-09-20T08:00:00.000Z"
        ),
        # Created with an Idempotency-Key, edited twice since: the record keeps version 1.
        PASSPORT
        | {
            "description": "Form DS-82, photos",
            "updatedAt": "2025-09-24T11:00:00.000Z",
            "version": 3,
        },
        task(
            "019981fa-7960-7128-a24b-e40ad23f0824",
            "Clean the gutters",
            "2025-09-25T17:45:00.000Z",
            status="completed",
            completedAt="2025-09-27T16:20:05.500Z",
            updatedAt="2025-09-27T16:20:05.500Z",
            dueDate="2025-09-30T09:00:00.000Z",
            priority="low",
            category="home",
            tags=["chores", "outside"],
            version=2,
        ),
    ],
    BOB: [
        task(
            "01996c25-2e00-7181-a54c-66175d9dc9f8",
            "Quarterly report",
            "2025-09-21T12:00:00.000Z",
            description="Numbers from finance, then the summary.",
            status="completed",
            completedAt="2025-09-23T15:00:00.000Z",
            updatedAt="2025-09-26T08:00:00.000Z",
            priority="high",
            tags=["work"],
            version=4,
        ),
        PRESENTS,
    ],
    LOCAL: [
        task("0199608e-df00-73d9-a344-5bb31738f7d9", "Read Dune", "2025-09-19T06:00:00.000Z")
        | {"category": "books"},
        # Two tasks of the same millisecond: their taskIds keep the creation order.
        task(
            "01998fc3-d500-736f-8580-28d6099950d8",
            "Café ☕ with Dana",
            "2025-09-28T10:00:00.000Z",
            description="Ask about the move",
            dueDate="2026-01-05T08:30:00.000Z",
            updatedAt="2025-09-29T07:00:00.000Z",
            tags=["friends"],
            version=2,
        ),
        PLAN
        | {
            "status": "completed",
            "completedAt": "2025-09-28T18:00:00.000Z",
            "updatedAt": "2025-09-28T18:00:00.000Z",
            "version": 2,
        },
    ],
}

# Keyed creates: the body, the request hash release 8a74601 stored for it, the task as created.
RECORDS = {
    ALICE: (
        "passport-1",
        {
            "title": "Renew passport",
            "dueDate": "2025-10-01T17:00:00+02:00",
            "priority": "high",
            "category": "admin",
            "tags": ["passport", "travel"],
        },
        "88c70fe456c97520f59b0afc8742a3cf9785e17c227126ae8101804774b8dce1",
        PASSPORT,
    ),
    BOB: (
        "presents-1",
        {"title": "Buy presents", "dueDate": "2025-12-24T18:00:00Z", "category": "family"},
        "90fa3d361267927850e07ad69895f510a4bbeb713a6e771d3fa73269da8547fb",
        PRESENTS,
    ),
}
EXPIRED_RECORD = (
    LOCAL,
    "plan-1",
    {"title": "Plan the week"},
    "576b621be4105b0891d0c515c0079dd1d27b5407d3252ba3484929788c4972e3",
    PLAN,
)
DUE_BEFORE = "2025-12-31T00:00:00.000Z"


def old_task_item(owner, shown):
    """A task as release 8a74601 stored it: unset fields absent, tags always a list."""
    item = {
        "pk": {"S": owner},
        "sk": {"S": shown["taskId"]},
        "statusKey": {"S": f"{shown['status']}#{shown['taskId']}"},
        "title": {"S": shown["title"]},
        "description": {"S": shown["description"]},
        "status": {"S": shown["status"]},
        "priority": {"S": shown["priority"]},
        "tags": {"L": [{"S": tag} for tag in shown["tags"]]},
        "createdAt": {"S": shown["createdAt"]},
        "updatedAt": {"S": shown["updatedAt"]},
        "version": {"N": str(shown["version"])},
    }
    for name in ("dueDate", "category", "completedAt"):
        if shown[name] is not None:
            item[name] = {"S": shown[name]}
    return item


def old_record_item(owner, key, request_hash, shown, expires_at):
    """An Idempotency-Key record as release 8a74601 stored it: the task in DynamoDB JSON."""
    return {
        "pk": {"S": f"idempotency#{owner}"},
        "sk": {"S": key},
        "requestHash": {"S": request_hash},
        "task": {"S": json.dumps(old_task_item(owner, shown))},
        "expiresAt": {"N": str(int(expires_at))},
    }


def create_old_table(dynamodb, name):
    """The table as release 8a74601's `flask create-table` made it."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", "statusKey")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "status-index",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "statusKey", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )


def put_items(dynamodb, table, items):
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: requests})


def old_items():
    now = time.time()
    items = [old_task_item(owner, shown) for owner, tasks in TASKS.items() for shown in tasks]
    for owner, (key, _, request_hash, shown) in RECORDS.items():
        items.append(old_record_item(owner, key, request_hash, shown, now + 3600))
    owner, key, _, request_hash, shown = EXPIRED_RECORD
    items.append(old_record_item(owner, key, request_hash, shown, now - 3600))
    return items


@pytest.fixture
def dynamodb(backend):
    return boto3.client("dynamodb", endpoint_url=backend, region_name="us-east-1")


@pytest.fixture
def old_table(backend, dynamodb):
    """A table of the previous release, filled with its items; yields its name.

    The copy goes to "<name>-2", the name create-table's refusal suggests.
    """
    name = f"taskapp-old-{uuid.uuid4().hex[:8]}"
    create_old_table(dynamodb, name)
    put_items(dynamodb, name, old_items())
    yield name
    if backend is not None:  # DynamoDB Local lives for the session; moto forgets by itself
        for table in (name, f"{name}-2"):
            try:
                dynamodb.delete_table(TableName=table)
            except dynamodb.exceptions.ResourceNotFoundException:
                pass


@pytest.fixture(scope="module")
def dev_key(tmp_path_factory):
    """One development key for the module: minting the first token makes it (an RSA key)."""
    return str(tmp_path_factory.mktemp("dev-keys") / "dev-key.pem")


def configured(table, backend, dev_key):
    config = TestConfig(table, backend)
    config.AUTH_DEV_KEY = dev_key
    return config


@pytest.fixture
def app_on(backend, dev_key):
    """app_on(TABLE): an app serving TABLE, whose dev tokens act as other owners."""

    def build(table):
        return create_app(configured(table, backend, dev_key))

    return build


@pytest.fixture
def migrate(app_on, old_table):
    """migrate(): `flask migrate-table --from OLD --to OLD-2`, run by the old stage's settings."""
    runner = app_on(old_table).test_cli_runner()

    def run():
        return runner.invoke(args=["migrate-table", "--from", old_table, "--to", f"{old_table}-2"])

    return run


@pytest.fixture
def as_owner(app_on, old_table):
    """as_owner(OWNER): requests to an app on the migrated table, as that owner."""
    app = app_on(f"{old_table}-2")
    client = app.test_client()
    runner = app.test_cli_runner()
    tokens = {
        owner: runner.invoke(args=["dev-token", owner]).output.strip() for owner in (ALICE, BOB)
    }

    def caller(owner):
        headers = {} if owner == LOCAL else {"Authorization": f"Bearer {tokens[owner]}"}
        return Caller(client, headers)

    return caller


class Caller:
    """A test client that sends one owner's bearer token (none for the local owner)."""

    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def get(self, path, **query):
        return self.client.get(path, query_string=query, headers=self.headers)

    def post(self, body, key):
        headers = self.headers | {"Idempotency-Key": key}
        return self.client.post("/tasks", json=body, headers=headers)

    def patch(self, path, body):
        return self.client.patch(path, json=body, headers=self.headers)


def newest_first(tasks):
    return sorted(tasks, key=lambda shown: shown["taskId"], reverse=True)


def test_create_table_refuses_the_old_table_and_names_the_migration(app_on, old_table):
    result = app_on(old_table).test_cli_runner().invoke(args=["create-table"])

    assert result.exit_code != 0
    assert f"Table {old_table} lacks the indexes changes-index, due-index" in result.output
    assert f"migrate-table --from {old_table} --to {old_table}-2" in result.output
    assert "Traceback" not in result.output


def test_migrate_table_copies_every_task_and_live_record(migrate, old_table, dynamodb):
    result = migrate()

    assert result.exit_code == 0, result.output
    assert (
        "page 1: 8 tasks and 2 idempotency records copied, 0 already there, "
        "1 expired records skipped"
    ) in result.output
    assert f"Done: 8 tasks and 2 idempotency records are in {old_table}-2." in result.output
    copied = dynamodb.scan(TableName=f"{old_table}-2", ConsistentRead=True)["Items"]
    records = [item for item in copied if "requestHash" in item]
    assert sorted((item["pk"]["S"], item["sk"]["S"]) for item in records) == [
        ("idem#alice", "passport-1"),
        ("idem#bob", "presents-1"),
    ]


def test_migrated_tasks_read_as_the_old_release_showed_them(migrate, as_owner):
    assert migrate().exit_code == 0

    for owner, tasks in TASKS.items():
        caller = as_owner(owner)
        for shown in tasks:
            response = caller.get(f"/tasks/{shown['taskId']}")
            assert response.status_code == 200
            assert response.get_json() == {"task": shown}
            assert response.headers["ETag"] == f'"{shown["version"]}"'
        listed = caller.get("/tasks").get_json()
        assert listed == {"tasks": newest_first(tasks), "count": len(tasks), "nextCursor": None}
    # Still nobody else's: the partitions moved with their owners.
    assert as_owner(BOB).get(f"/tasks/{PASSPORT['taskId']}").status_code == 404


@pytest.mark.parametrize("owner", TASKS)
def test_filters_and_the_change_feed_find_migrated_tasks(migrate, as_owner, owner):
    assert migrate().exit_code == 0
    caller, tasks = as_owner(owner), TASKS[owner]

    for status in ("pending", "completed"):
        listed = caller.get("/tasks", status=status).get_json()["tasks"]
        assert listed == newest_first(t for t in tasks if t["status"] == status)
    due = sorted(
        (t for t in tasks if t["dueDate"] is not None and t["dueDate"] < DUE_BEFORE),
        key=lambda t: (t["dueDate"], t["taskId"]),
    )
    assert caller.get("/tasks", dueBefore=DUE_BEFORE).get_json()["tasks"] == due
    overdue = caller.get("/tasks", status="pending", dueBefore=DUE_BEFORE).get_json()["tasks"]
    assert overdue == [t for t in due if t["status"] == "pending"]

    changes = caller.get("/tasks/changes").get_json()
    assert changes["tasks"] == sorted(tasks, key=lambda t: (t["updatedAt"], t["taskId"]))
    assert (changes["deleted"], changes["hasMore"]) == ([], False)


@pytest.mark.parametrize("owner", RECORDS)
def test_a_migrated_idempotency_record_replays_its_task(migrate, as_owner, owner):
    assert migrate().exit_code == 0
    key, body, _, created = RECORDS[owner]
    caller = as_owner(owner)

    replay = caller.post(body, key)
    reused = caller.post(body | {"title": "Another"}, key)

    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["ETag"] == '"1"'
    assert replay.get_json() == {"message": "Task created successfully", "task": created}
    assert reused.status_code == 422
    assert caller.get("/tasks").get_json()["count"] == len(TASKS[owner])


def test_a_second_run_finds_everything_already_there(migrate, old_table):
    assert migrate().exit_code == 0

    again = migrate()

    assert again.exit_code == 0, again.output
    assert "0 tasks and 0 idempotency records copied, 10 already there" in again.output
    assert f"Done: 0 tasks and 0 idempotency records are in {old_table}-2." in again.output


def test_a_second_run_copies_what_changed_but_never_over_a_newer_version(
    migrate, as_owner, dynamodb, old_table
):
    assert migrate().exit_code == 0
    water, report = TASKS[ALICE][0], TASKS[BOB][0]
    # After the first run the old stage still served Alice and Bob: a write each there.
    change_in_old_table(dynamodb, old_table, ALICE, water, title="Water the plants and herbs")
    change_in_old_table(dynamodb, old_table, BOB, report, title="Stale title")
    # Meanwhile Bob's task was written twice on the new table.
    bob = as_owner(BOB)
    for title in ("Q3 report", "Q3 report, final"):
        bob.patch(f"/tasks/{report['taskId']}", {"title": title})

    again = migrate()

    assert again.exit_code == 0, again.output
    assert "1 tasks and 0 idempotency records copied, 9 already there" in again.output
    watered = as_owner(ALICE).get(f"/tasks/{water['taskId']}").get_json()["task"]
    assert (watered["title"], watered["version"]) == ("Water the plants and herbs", 2)
    reported = bob.get(f"/tasks/{report['taskId']}").get_json()["task"]
    assert (reported["title"], reported["version"]) == ("Q3 report, final", report["version"] + 2)


def change_in_old_table(dynamodb, table, owner, shown, title):
    """An update as release 8a74601 wrote it: the field, updatedAt, and version + 1."""
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": owner}, "sk": {"S": shown["taskId"]}},
        UpdateExpression="SET title = :title, updatedAt = :now ADD version :one",
        ExpressionAttributeValues={
            ":title": {"S": title},
            ":now": {"S": "2025-10-03T12:00:00.000Z"},
            ":one": {"N": "1"},
        },
    )


@pytest.fixture
def moto_backend():
    with mock_aws():
        yield None


def test_an_interrupted_run_resumes_where_it_stopped(moto_backend, dev_key, monkeypatch):
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_old_table(dynamodb, "taskapp-old")
    created = "2025-09-20T08:00:00.000Z"
    tasks = [task(str(uuid7()), f"Task {n}", created) for n in range(150)]
    put_items(dynamodb, "taskapp-old", [old_task_item(ALICE, shown) for shown in tasks])
    runner = create_app(configured("taskapp-old", None, dev_key)).test_cli_runner()
    arguments = ["migrate-table", "--from", "taskapp-old", "--to", "taskapp-new"]
    # The connection drops when the Scan asks for its second page.
    real_call = BaseClient._make_api_call

    def call(client, operation, params):
        if operation == "Scan" and "ExclusiveStartKey" in params:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return real_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    stopped = runner.invoke(args=arguments)
    monkeypatch.undo()
    resumed = runner.invoke(args=arguments)

    assert stopped.exit_code != 0
    assert "page 1: 100 tasks" in stopped.output
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming the copy of taskapp-old where it stopped." in resumed.output
    # The resumed run read on from page 2: nothing met twice, nothing missed.
    assert "page 1: 150 tasks and 0 idempotency records copied, 0 already there" in resumed.output
    new = create_app(configured("taskapp-new", None, dev_key))
    token = new.test_cli_runner().invoke(args=["dev-token", ALICE]).output.strip()
    listed, cursor = [], None
    while True:
        query = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = new.test_client().get(
            "/tasks", query_string=query, headers={"Authorization": f"Bearer {token}"}
        )
        listed += page.get_json()["tasks"]
        cursor = page.get_json()["nextCursor"]
        if cursor is None:
            break
    assert listed == newest_first(tasks)


def test_migrate_table_refuses_to_copy_a_table_onto_itself(moto_backend):
    runner = create_app(TestConfig("taskapp-old")).test_cli_runner()

    result = runner.invoke(args=["migrate-table", "--from", "taskapp-old", "--to", "taskapp-old"])

    assert result.exit_code != 0
    assert "--from and --to must name two different tables." in result.output


def test_migrate_table_refuses_a_table_of_this_release(app_on, old_table):
    current = f"{old_table}-2"
    runner = app_on(current).test_cli_runner()
    assert runner.invoke(args=["create-table"]).exit_code == 0

    result = runner.invoke(args=["migrate-table", "--from", current, "--to", f"{old_table}-3"])

    assert result.exit_code != 0
    assert f"Table {current} is already this release's: there is nothing to copy." in result.output
