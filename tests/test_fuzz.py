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

import hypothesis
import pytest
import schemathesis
from moto import mock_aws

from taskapp import create_app, models, store
from taskapp.config import TestConfig
from taskapp.schemas import CURSOR_PATTERN, STATUSES, Cursor

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "60"))
FILTERS = (None, *STATUSES)
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
                # request that meets the server's state: a stale If-Match (412) and an
                # Idempotency-Key first used with another body (422).
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412"]
                    + ["422", "429", "5xx"]
                },
            },
            "generation": {"mode": "all", "max-examples": EXAMPLES},
            "phases": {"stateful": {"max-steps": 10}},
        }
    ),
)


_CURSOR = Cursor()


@schema.hook
def map_case(context, case):
    return _follow_state_rules(case)


def _follow_state_rules(case):
    """A cursor belongs to the status filter it came from (SPEC 2), a rule between two
    parameters that OpenAPI cannot state: a well-formed generated cursor gets the request's
    own filter. tests/test_list.py covers a cursor sent with another filter."""
    query = case.query or {}
    cursor, status = query.get("cursor"), query.get("status")
    if isinstance(cursor, str) and re.fullmatch(CURSOR_PATTERN, cursor) and status in FILTERS:
        position = _CURSOR.deserialize(cursor)
        query["cursor"] = _CURSOR._serialize({**position, "status": status}, None, None)
    return case


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
