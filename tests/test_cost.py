"""SPEC.md section 5: one DynamoDB request per single-task operation, no Scan, bounded pages."""

import pytest

from taskapp.models import Task
from tests.helpers import create

MISSING = "01890a5d-ac96-774b-bcce-b302099a8057"


@pytest.fixture
def answers(app):
    """DynamoDB's parsed answer to each request the app sends, refusals included (the meter
    keeps no answers)."""
    answers = []
    events = Task._get_connection().connection.client.meta.events
    # botocore emits after-call before it raises a refusal as an exception.
    events.register("after-call.dynamodb", lambda parsed, **_: answers.append(parsed), "answers")
    yield answers
    events.unregister("after-call.dynamodb", unique_id="answers")


def test_create_is_one_transaction_of_the_task_and_its_owners_count(client, meter):
    create(client)

    assert meter.operations == ["TransactWriteItems"]
    task, count = meter.requests[0].params["TransactItems"]
    assert "attribute_not_exists" in task["Put"]["ConditionExpression"]
    assert "ADD" in count["Update"]["UpdateExpression"]


def test_get_is_one_consistent_get(client, meter):
    task = create(client)
    meter.reset()

    client.get(f"/tasks/{task['taskId']}")

    assert meter.operations == ["GetItem"]
    assert meter.requests[0].params["ConsistentRead"] is True


@pytest.mark.parametrize("headers", [{}, {"If-Match": '"1"'}, {"If-Match": '"9"'}])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_is_one_conditional_update_even_when_it_fails(client, meter, method, headers):
    task = create(client)
    meter.reset()

    getattr(client, method)(f"/tasks/{task['taskId']}", json={"title": "x"}, headers=headers)

    assert meter.operations == ["UpdateItem"]
    assert "attribute_exists" in meter.requests[0].params["ConditionExpression"]


@pytest.mark.parametrize("headers", [{}, {"If-Match": '"1"'}, {"If-Match": '"9"'}])
def test_delete_is_one_transaction_of_a_conditional_tombstone_even_when_it_fails(
    client, meter, headers
):
    task = create(client)
    meter.reset()

    client.delete(f"/tasks/{task['taskId']}", headers=headers)

    # The tombstone and the owner's count, in one request.
    assert meter.operations == ["TransactWriteItems"]
    tombstone, count = meter.requests[0].params["TransactItems"]
    condition = tombstone["Update"]["ConditionExpression"]
    assert "attribute_exists" in condition and "attribute_not_exists" in condition
    assert "ADD" in count["Update"]["UpdateExpression"]


def test_missing_task_costs_one_get_that_finds_nothing(client, meter, answers):
    response = client.get(f"/tasks/{MISSING}")

    assert response.status_code == 404
    assert meter.operations == ["GetItem"]
    (answer,) = answers
    assert "Error" not in answer and "Item" not in answer


@pytest.mark.parametrize("method", ["put", "patch"])
def test_missing_task_costs_one_conditional_update_that_dynamodb_refuses(
    client, meter, answers, method
):
    response = getattr(client, method)(f"/tasks/{MISSING}", json={"title": "x"})

    assert response.status_code == 404
    assert meter.operations == ["UpdateItem"]
    assert "attribute_exists" in meter.requests[0].params["ConditionExpression"]
    (answer,) = answers
    assert answer["Error"]["Code"] == "ConditionalCheckFailedException"
    assert "Item" not in answer  # nothing there: not a live task, not a tombstone


def test_missing_task_costs_one_delete_that_dynamodb_cancels_on_its_condition(
    client, meter, answers
):
    response = client.delete(f"/tasks/{MISSING}")

    assert response.status_code == 404
    assert meter.operations == ["TransactWriteItems"]
    tombstone, _ = meter.requests[0].params["TransactItems"]
    assert "attribute_exists" in tombstone["Update"]["ConditionExpression"]
    (answer,) = answers
    assert answer["Error"]["Code"] == "TransactionCanceledException"
    # The tombstone's condition stopped it, not the owner's count.
    tombstone_reason, count_reason = answer["CancellationReasons"]
    assert (tombstone_reason["Code"], count_reason["Code"]) == ("ConditionalCheckFailed", "None")
    assert "Item" not in tombstone_reason  # nothing there: not a live task, not a tombstone


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_malformed_task_id_costs_nothing(client, meter, method):
    response = getattr(client, method)("/tasks/not-a-task", json={"title": "x"})

    assert response.status_code == 404
    assert meter.operations == []


@pytest.mark.parametrize(
    ("query", "statuses"),
    [({}, ["completed", "pending"]), ({"status": "pending"}, ["pending"])],
)
def test_a_list_page_is_a_bounded_consistent_query_per_status(client, meter, query, statuses):
    for i in range(6):
        create(client, title=f"t{i}", status=("pending", "completed")[i % 2])
    meter.reset()

    first = client.get("/tasks", query_string={**query, "limit": 2}).get_json()
    client.get("/tasks", query_string={**query, "limit": 2, "cursor": first["nextCursor"]})

    # The unfiltered list merges the two statuses of the status index: tombstones (deleted
    # tasks) live in the table's own key range, which no list reads.
    assert meter.operations == ["Query"] * 2 * len(statuses)
    for request in meter.requests:
        assert request.params["Limit"] == 3
        assert request.params["ConsistentRead"] is True
        assert request.params["ScanIndexForward"] is False
        assert request.params["IndexName"] == "status-index"
        assert "FilterExpression" not in request.params
    prefixes = sorted(r.params["ExpressionAttributeValues"][":1"]["S"] for r in meter.requests)
    assert prefixes == sorted(f"{status}#" for status in statuses * 2)
