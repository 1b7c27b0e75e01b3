"""Schemathesis against the WSGI app in-process, on moto.

Every built-in check is on (server errors, status codes, content types, response schemas
and headers, negative-data rejection, positive-data acceptance, unsupported methods, Allow,
use-after-free, resource availability, ...): no 5xx, and every response as /openapi.json
documents it.

FUZZ_EXAMPLES is Hypothesis's max_examples per operation (default 100); FUZZ_STATEFUL_EXAMPLES
the number of stateful scenarios (default 60). The number of requests sent is printed.
"""

import logging
import os
import re
from datetime import UTC, datetime

import hypothesis
import pytest
import schemathesis
from marshmallow import ValidationError
from moto import mock_aws

from taskapp import create_app, models, store
from taskapp.config import TestConfig
from taskapp.cursors import CURSOR_PATTERN, SYNC_TOKEN_PATTERN, Cursor, SyncToken, filters_digest
from taskapp.schemas import TaskListQuerySchema, Timestamp
from taskapp.store import SyncPosition
from taskapp.store.feed import owner_digest
from taskapp.store.lists import Position

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "60"))
SEED = int(os.environ.get("FUZZ_SEED", "1"))


class _CountRequests:
    """WSGI middleware: how many requests the fuzzer sent to the app."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def __call__(self, environ, start_response):
        self.count += 1
        return self.app(environ, start_response)


# Building the app and serving /openapi.json touch no AWS service (conftest.py has set fake
# credentials): the table is made on moto by the fixture below, before the first request.
APP = create_app(TestConfig("taskapp-fuzz"))
COUNTER = APP.wsgi_app = _CountRequests(APP.wsgi_app)
OWNER = "alice"
TOKEN = (
    APP.test_cli_runner()
    .invoke(args=["dev-token", OWNER, "--email", "alice@example.com"])
    .output.strip()
)

# Loaded eagerly: schemathesis.pytest.from_fixture() (the lazy loader) breaks on pytest 9.2
# in schemathesis 4.32 (it sets Node._nodeid, which pytest 9.2 no longer has).
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json",
    APP,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "checks": {
                "enabled": True,
                # Like 409, which schemathesis expects by default, these answer a valid
                # request that meets the server's state: an expired sync token (410), a stale
                # If-Match (412) and an Idempotency-Key first used with another body (422).
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "410", "412"]
                    + ["422", "429", "5xx"]
                },
            },
            "generation": {"mode": "all", "max-examples": EXAMPLES},
            "phases": {"stateful": {"max-steps": 10}},
        }
    ),
)


_CURSOR = Cursor()
_SYNC_TOKEN = SyncToken()
_TIMESTAMP = Timestamp()


@schema.hook
def map_case(context, case):
    return _follow_state_rules(case)


def _follow_state_rules(case):
    """Rules between parameters and the server's state that OpenAPI cannot state.

    /tasks/changes is the feed, not a task. dueAfter is not later than dueBefore: generated
    bounds are put in order. A cursor belongs to the filters it came from (SPEC 2 and 8): a
    well-formed generated cursor gets the request's own filters. A sync token is the server's,
    for this caller: a generated one that matches the pattern becomes a real one.
    tests/test_list.py and tests/test_feed.py cover cursors with other filters and forged tokens.
    Reminders need a caller with a verified address (every case is Alice's, signed in with
    one) and a time: a generated reminder gets one, so that no update can leave an enabled
    reminder without a time. tests/test_reminders.py covers those 400s.
    """
    if case.headers is None:
        case.headers = {}
    case.headers.setdefault("Authorization", f"Bearer {TOKEN}")
    body = case.body
    if isinstance(body, dict):
        enabled_without_time = body.get("reminderEnabled") is True and "reminderAt" not in body
        if enabled_without_time or ("reminderAt" in body and body["reminderAt"] is None):
            body["reminderAt"] = "2030-01-01T09:00:00Z"
    path = case.path_parameters or {}
    if path.get("task_id") == "changes":
        # A generated taskId of "changes" (which the schema excludes) names the change feed.
        path["task_id"] = "not-a-task"
    query = case.query or {}
    _order_due_bounds(query)
    cursor = query.get("cursor")
    if isinstance(cursor, str) and re.fullmatch(CURSOR_PATTERN, cursor):
        others = {name: value for name, value in query.items() if name != "cursor"}
        errors = TaskListQuerySchema().validate(others)
        if not errors:
            filters = TaskListQuerySchema().load(others)["filters"]
            after = _CURSOR.deserialize(cursor)["after"]
            due = (after.due or datetime(2030, 1, 1, tzinfo=UTC)) if filters.by_due else None
            position = {"filters": filters_digest(filters), "after": Position(after.task_id, due)}
            query["cursor"] = _CURSOR._serialize(position, None, None)
    since = query.get("since")
    if isinstance(since, str) and re.fullmatch(SYNC_TOKEN_PATTERN, since):
        owner = OWNER
        query["since"] = _SYNC_TOKEN._serialize(SyncPosition(owner_digest(owner)), None, None)
    return case


def _order_due_bounds(query):
    bounds = {}
    for name in ("dueAfter", "dueBefore"):
        try:
            bounds[name] = _TIMESTAMP.deserialize(query.get(name))
        except ValidationError:
            return
    if bounds["dueAfter"] > bounds["dueBefore"]:
        query["dueAfter"], query["dueBefore"] = query["dueBefore"], query["dueAfter"]


@pytest.fixture(scope="module", autouse=True)
def fuzz_table():
    request_log = logging.getLogger("taskapp.requests")
    request_log.disabled = True  # one line per request: too many
    with mock_aws():
        models.configure(APP.config)  # other tests may have pointed the model elsewhere
        with APP.app_context():
            store.ensure_table()
        COUNTER.count = 0
        yield
        print(f"\nrequests sent to the app: {COUNTER.count}")
    request_log.disabled = False


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api(case):
    case.call_and_validate()


class APIWorkflow(schema.as_state_machine()):
    def before_call(self, case):
        _follow_state_rules(case)

    def setup(self):
        # Every scenario starts from an empty table (tasks and idempotency records alike),
        # so that Hypothesis can replay it. A Scan is fine here: it is the test's, not the API's.
        client = models.Task._get_connection().connection.client
        table = APP.config["TABLE_NAME"]
        for item in client.scan(TableName=table, ProjectionExpression="pk, sk")["Items"]:
            client.delete_item(TableName=table, Key=item)


def test_stateful():
    APIWorkflow.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            deadline=None,
            stateful_step_count=10,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
