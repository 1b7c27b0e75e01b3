"""The peer that benchmarks/bench_peers.py measures taskapp against: taskapp's four single-task
operations written for Chalice, with one low-level DynamoDB client.

Its table is its own, keyed by taskId alone, and every attribute is a string.
"""

import os
import uuid
from datetime import UTC, datetime

import boto3
from chalice import BadRequestError, Chalice, NotFoundError, Response

app = Chalice(app_name="taskapp-peer")
dynamodb = boto3.client("dynamodb", endpoint_url=os.environ.get("DYNAMODB_ENDPOINT"))
TABLE = os.environ["TABLE_NAME"]
FIELDS = ("title", "description", "status")
STATUSES = ("pending", "completed")
EXISTS = "attribute_exists(taskId)"


@app.route("/tasks", methods=["POST"])
def create_task():
    """Create a task from a title, and a description and status if given."""
    fields = task_fields()
    if "title" not in fields:
        raise BadRequestError("title is required")
    stamp = now()
    task = {"taskId": str(uuid.uuid4()), "description": "", "status": "pending", **fields}
    task |= {"createdAt": stamp, "updatedAt": stamp}
    dynamodb.put_item(
        TableName=TABLE,
        Item={name: {"S": value} for name, value in task.items()},
        ConditionExpression="attribute_not_exists(taskId)",
    )
    body = {"message": "Task created successfully", "task": task}
    return Response(body, headers={"Location": f"/tasks/{task['taskId']}"}, status_code=201)


@app.route("/tasks/{task_id}", methods=["GET"])
def get_task(task_id):
    """One task."""
    # Consistent, as taskapp's: a task reads back as the last write left it.
    item = dynamodb.get_item(TableName=TABLE, Key=key(task_id), ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError("Task not found")
    return {"task": from_item(item)}


@app.route("/tasks/{task_id}", methods=["PUT"])
def update_task(task_id):
    """Change the fields given; the others stay."""
    fields = task_fields()
    if not fields:
        raise BadRequestError(f"Send at least one of {', '.join(FIELDS)}")
    fields["updatedAt"] = now()
    try:
        item = dynamodb.update_item(
            TableName=TABLE,
            Key=key(task_id),
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in fields),
            ConditionExpression=EXISTS,
            # Names go through placeholders: "status" is a reserved word in DynamoDB.
            ExpressionAttributeNames={f"#{name}": name for name in fields},
            ExpressionAttributeValues={f":{name}": {"S": value} for name, value in fields.items()},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise NotFoundError("Task not found") from None
    return {"message": "Task updated successfully", "task": from_item(item)}


@app.route("/tasks/{task_id}", methods=["DELETE"])
def delete_task(task_id):
    """Delete a task."""
    try:
        dynamodb.delete_item(TableName=TABLE, Key=key(task_id), ConditionExpression=EXISTS)
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise NotFoundError("Task not found") from None
    return {"message": "Task deleted successfully", "taskId": task_id}


def task_fields():
    """The request body's task fields, all strings, a title not blank and a known status."""
    body = app.current_request.json_body
    if not isinstance(body, dict) or not body.keys() <= set(FIELDS):
        raise BadRequestError(f"Send a JSON object with only {', '.join(FIELDS)}")
    if not all(isinstance(value, str) for value in body.values()):
        raise BadRequestError(f"{', '.join(FIELDS)} are strings")
    if "title" in body and not body["title"].strip():
        raise BadRequestError("title must not be blank")
    if body.get("status", "pending") not in STATUSES:
        raise BadRequestError(f"status is one of {', '.join(STATUSES)}")
    return body


def key(task_id):
    return {"taskId": {"S": task_id}}


def from_item(item):
    return {name: value["S"] for name, value in item.items()}


def now():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
