"""Fixtures: the app on moto (fast) and on DynamoDB Local (AWS's own engine).

API tests take the ``client`` fixture and run on both backends, because moto accepts
things that DynamoDB refuses; ``moto_client`` is for tests that need only one.
"""

import logging
import os
import uuid

# Fake credentials before anything builds an AWS client (moto's getting-started rule).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)
for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "TABLE_NAME"):
    os.environ.pop(name, None)

from unittest.mock import patch  # noqa: E402

import botocore.session  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from taskapp import create_app, models, store  # noqa: E402
from taskapp.config import TestConfig  # noqa: E402
from taskapp.models import Task  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.meter import DynamoDBMeter  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def shared_botocore_session():
    """One botocore session for every app the tests build.

    PynamoDB starts a botocore session per connection, and each parses botocore's endpoint
    data (about 0.15 s); sharing one keeps the suite fast without changing what is sent.
    """
    session = botocore.session.get_session()
    with patch("pynamodb.connection.base.get_session", return_value=session):
        yield


@pytest.fixture(scope="session")
def dynamodb_local():
    """One in-memory DynamoDB Local for the session; each test gets its own table in it."""
    with DynamoDBLocal() as database:
        yield database.endpoint


@pytest.fixture(params=["moto", "dynamodb-local"])
def backend(request):
    """Where the table lives: None for moto, or DynamoDB Local's endpoint."""
    if request.param == "moto":
        with mock_aws():
            yield None
    else:
        yield request.getfixturevalue("dynamodb_local")


def make_app(endpoint, **settings):
    """An app on its own new table; ``settings`` override the test configuration."""
    config = TestConfig(f"taskapp-test-{uuid.uuid4().hex[:12]}", endpoint)
    for name, value in settings.items():
        setattr(config, name, value)
    app = create_app(config)
    with app.app_context():
        store.ensure_table()
    return app


def drop_table(app):
    """Delete the app's table from DynamoDB Local (moto forgets everything by itself)."""
    if app.config["DYNAMODB_ENDPOINT"] is not None:
        models.configure(app.config)  # the model may point at another app's table by now
        Task.delete_table()


@pytest.fixture
def app(backend):
    app = make_app(backend)
    yield app
    drop_table(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def moto_app():
    with mock_aws():
        yield make_app(None)


@pytest.fixture
def moto_client(moto_app):
    return moto_app.test_client()


@pytest.fixture
def meter(app):
    """The DynamoDB requests the app sends during the test."""
    with DynamoDBMeter() as meter:
        yield meter


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines():
    """What the request logger writes (to stdout in Lambda), one string per record."""
    handler = _Lines()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("taskapp.requests")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright: one per test module."""
    from playwright.sync_api import sync_playwright

    from tests.browsing import CHROMIUM, FLAGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def api_app(dynamodb_local):
    """An app on DynamoDB Local, for tests that serve it over HTTP."""
    app = make_app(dynamodb_local)
    yield app
    drop_table(app)
