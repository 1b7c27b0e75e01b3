"""`flask create-table`: creates the table with its index, and is safe to run again."""

import boto3
import pytest

from taskapp import create_app
from taskapp.config import TestConfig
from taskapp.models import Task


@pytest.fixture
def bare_app(backend):
    """An app whose table does not exist yet."""
    app = create_app(TestConfig("taskapp-cli-test", backend))
    yield app
    if backend is not None and Task.exists():
        Task.delete_table()


def test_create_table_is_idempotent(bare_app, backend):
    runner = bare_app.test_cli_runner()

    first = runner.invoke(args=["create-table"])
    second = runner.invoke(args=["create-table"])

    assert first.exit_code == 0, first.output
    assert "Created table taskapp-cli-test" in first.output
    assert second.exit_code == 0, second.output
    assert "already exists" in second.output

    dynamodb = boto3.client("dynamodb", endpoint_url=backend, region_name="us-east-1")
    table = dynamodb.describe_table(TableName="taskapp-cli-test")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["pk", "sk"]
    indexes = {index["IndexName"]: index for index in table["LocalSecondaryIndexes"]}
    assert set(indexes) == {"status-index", "due-index", "changes-index"}
    assert {index["Projection"]["ProjectionType"] for index in indexes.values()} == {"ALL"}
    assert not table.get("GlobalSecondaryIndexes")
    # Idempotency records expire by themselves; enabling TTL twice is refused, so it is read first.
    ttl = dynamodb.describe_time_to_live(TableName="taskapp-cli-test")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
