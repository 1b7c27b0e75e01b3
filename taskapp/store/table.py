"""The table itself: made with its indexes, checked against the model, migrated between releases.

DynamoDB adds a local secondary index only when it makes a table. A table made by an earlier
release therefore keeps that release's indexes forever: ``check_indexes`` refuses it, with what
to do, and ``migrate_table`` copies its tasks and live idempotency records into a new table.
"""

import json
from datetime import UTC, datetime

from pynamodb.exceptions import PynamoDBException

from ..models import MODELS, IdempotencyRecord, Task, idempotency_partition, task_partition
from .base import TableMismatch, connection, translated_errors

# The partitions of the release before this one: tasks under the bare sub, records under this.
_OLD_RECORD_PREFIX = "idempotency#"
_MIGRATION_PAGE = 100


def ensure_table() -> bool:
    """Create the table with its indexes unless it exists, check it, add the global indexes
    it lacks, and have its TTL on.

    Returns True when this call created the table. TTL is read before it is set, because
    DynamoDB refuses to enable it twice (PynamoDB's create_table would try every time).
    """
    created = False
    with translated_errors():
        if not Task.exists():
            try:
                Task.create_table(wait=True)
                created = True
            except PynamoDBException as error:
                # Another process created it between our check and our request.
                if error.cause_response_code != "ResourceInUseException":
                    raise
        check_indexes()
        client = connection().client
        table = Task.Meta.table_name
        _add_global_indexes(client, table)
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl["TimeToLiveStatus"] not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": Task.expires_at.attr_name,
                },
            )
    return created


def check_indexes() -> None:
    """Raise TableMismatch, with what to do, unless the table has the model's keys and indexes."""
    table = Task.Meta.table_name
    found = _layout(connection().client.describe_table(TableName=table)["Table"])
    wanted = _layout(_model_table())
    if found == wanted:
        return
    missing = sorted(set(wanted["indexes"]) - set(found["indexes"]))
    what = (
        f"lacks the indexes {', '.join(missing)} that this release of taskapp needs"
        if missing
        else "has other keys or indexes than this release of taskapp needs"
    )
    raise TableMismatch(
        f"Table {table} {what}, and DynamoDB cannot add local secondary indexes to a table. "
        f"Copy it into a new table with `TABLE_NAME={table}-2 flask --app wsgi migrate-table "
        f"--from {table} --to {table}-2`, then set TABLE_NAME to {table}-2 "
        "(README: Upgrading a deployed stage)."
    )


def _add_global_indexes(client, table: str) -> None:
    """Add the model's global indexes that the table lacks (DynamoDB builds them from the items
    already there while the table serves); refuse one of the same name with other keys."""
    found = client.describe_table(TableName=table)["Table"]
    existing = {index["IndexName"]: index for index in found.get("GlobalSecondaryIndexes", [])}
    schema = Task._get_schema()
    for index in schema["global_secondary_indexes"]:
        name = index["index_name"]
        if name in existing:
            keys = {(k["AttributeName"], k["KeyType"]) for k in existing[name]["KeySchema"]}
            if keys != {(k["AttributeName"], k["KeyType"]) for k in index["key_schema"]}:
                raise TableMismatch(
                    f"Table {table} has an index {name} with other keys than this release of "
                    "taskapp needs: delete that index, then run create-table again."
                )
            continue
        names = {key["AttributeName"] for key in index["key_schema"]}
        client.update_table(
            TableName=table,
            AttributeDefinitions=[
                definition
                for definition in schema["attribute_definitions"]
                if definition["AttributeName"] in names
            ],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": name,
                        "KeySchema": index["key_schema"],
                        "Projection": index["projection"],
                    }
                }
            ],
        )


def _model_table() -> dict:
    """The model's table in DescribeTable's shape."""
    schema = Task._get_schema()
    return {
        "KeySchema": schema["key_schema"],
        "LocalSecondaryIndexes": [
            {
                "IndexName": index["index_name"],
                "KeySchema": index["key_schema"],
                "Projection": index["projection"],
            }
            for index in schema["local_secondary_indexes"]
        ],
    }


def _layout(table: dict) -> dict:
    """What makes two tables interchangeable: the key schema and each local index."""

    def keys(schema):
        return sorted((key["AttributeName"], key["KeyType"]) for key in schema)

    return {
        "keys": keys(table["KeySchema"]),
        "indexes": {
            index["IndexName"]: (keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
            for index in table.get("LocalSecondaryIndexes", [])
        },
    }


def migrate_table(source: str, target: str, echo=print) -> dict:
    """Copy every task and live idempotency record of ``source`` (an earlier release's table)
    into ``target`` (made with this release's indexes if missing), and return the counts.

    Idempotent and resumable: each item is written only if the target lacks it or holds an
    older version, and the Scan's position is saved in the target after every page, so a run
    that stops resumes where it stopped, and a run after a finished one copies what changed.
    """
    with translated_errors():
        client = connection().client
        try:
            layout = _layout(client.describe_table(TableName=source)["Table"])
        except client.exceptions.ResourceNotFoundException:
            raise TableMismatch(
                f"Table {source} does not exist: --from must name the earlier release's table."
            ) from None
        if layout == _layout(_model_table()):
            raise TableMismatch(
                f"Table {source} is already this release's: there is nothing to copy."
            )
        stage_table = Task.Meta.table_name
        _point_models_at(target)
        try:
            ensure_table()
            return _copy_all(client, source, target, echo)
        finally:
            _point_models_at(stage_table)


def _point_models_at(table: str) -> None:
    for model in MODELS:
        model.Meta.table_name = table


def _copy_all(client, source: str, target: str, echo) -> dict:
    progress_key = {"pk": {"S": f"migration#{source}"}, "sk": {"S": "progress"}}
    saved = client.get_item(TableName=target, Key=progress_key, ConsistentRead=True).get("Item")
    counts = {"tasks": 0, "records": 0, "already there": 0, "expired": 0}
    start = None
    if saved and "lastKey" in saved:
        start = json.loads(saved["lastKey"]["S"])
        counts = json.loads(saved["counts"]["S"])
        echo(f"Resuming the copy of {source} where it stopped.")
    pages = 0
    while True:
        options = {"TableName": source, "Limit": _MIGRATION_PAGE, "ConsistentRead": True}
        if start:
            options["ExclusiveStartKey"] = start
        page = client.scan(**options)
        for item in page["Items"]:
            counts[_copy(client, target, item)] += 1
        pages += 1
        start = page.get("LastEvaluatedKey")
        state = {"counts": {"S": json.dumps(counts)}}
        if start:
            state["lastKey"] = {"S": json.dumps(start)}
        client.put_item(TableName=target, Item=progress_key | state)
        echo(
            f"page {pages}: {counts['tasks']} tasks and {counts['records']} idempotency records "
            f"copied, {counts['already there']} already there, {counts['expired']} expired "
            "records skipped"
        )
        if not start:
            return counts


def _copy(client, target: str, item: dict) -> str:
    """Write one item of the earlier release in this release's shape; says what became of it."""
    if "requestHash" in item:
        record = IdempotencyRecord.from_raw_data(item)
        if record.expires_at < datetime.now(UTC):
            return "expired"
        record.partition = idempotency_partition(record.partition.removeprefix(_OLD_RECORD_PREFIX))
        task = Task.from_raw_data(json.loads(record.task))
        record.task = json.dumps(_reshaped(task).serialize())
        new, condition = record.serialize(), "attribute_not_exists(sk)"
        values = {}
        kind = "records"
    elif "title" in item:
        new = _reshaped(Task.from_raw_data(item)).serialize()
        # Never over a newer version: a task written to the new table after the switch.
        condition = "attribute_not_exists(sk) OR version < :version"
        values = {":version": new["version"]}
        kind = "tasks"
    else:
        return "already there"  # nothing an earlier release wrote
    try:
        client.put_item(
            TableName=target,
            Item=new,
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return "already there"
    return kind


def _reshaped(task: Task) -> Task:
    """An earlier release's task (partition: the bare owner) with this release's keys."""
    task.partition = task_partition(task.partition)
    task.set_index_keys()
    return task
