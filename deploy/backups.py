"""The stage's table, kept safe from a mistake: point-in-time recovery and deletion protection.

The post-deploy hook turns both on for the stage's table unless its "taskapp" settings turn
either off ("point_in_time_recovery": false, "deletion_protection": false; dev does). Each is
read first and changed only when it differs, so a rerun makes no write. `make undeploy` never
touches either: the table, its protection and its backups outlive the stage's code.
"""

import click

SETTINGS = {"point_in_time_recovery": True, "deletion_protection": True}


def protect_table(dynamodb, table_name, settings):
    """Set the table's point-in-time recovery and deletion protection as `settings` say."""
    wanted = {name: settings.get(name, default) for name, default in SETTINGS.items()}
    for name, value in wanted.items():
        if not isinstance(value, bool):
            raise click.ClickException(f"{name} must be true or false, not {value!r}.")
    # A table that the hook just made, or whose new index DynamoDB is adding, is busy for a
    # moment; DynamoDB refuses to change it until it is ACTIVE.
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 5, "MaxAttempts": 60}
    )
    _set_point_in_time_recovery(dynamodb, table_name, wanted["point_in_time_recovery"])
    _set_deletion_protection(dynamodb, table_name, wanted["deletion_protection"])


def _set_point_in_time_recovery(dynamodb, table_name, enabled):
    backups = dynamodb.describe_continuous_backups(TableName=table_name)
    status = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    if (status["PointInTimeRecoveryStatus"] == "ENABLED") != enabled:
        dynamodb.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled},
        )
    if enabled:
        click.echo(f"Table {table_name}: point-in-time recovery on (the last 35 days).")
    else:
        click.echo(f"Table {table_name}: point-in-time recovery off (point_in_time_recovery).")


def _set_deletion_protection(dynamodb, table_name, enabled):
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    if table.get("DeletionProtectionEnabled", False) != enabled:
        dynamodb.update_table(TableName=table_name, DeletionProtectionEnabled=enabled)
    if enabled:
        click.echo(f"Table {table_name}: deletion protection on.")
    else:
        click.echo(f"Table {table_name}: deletion protection off (deletion_protection).")
