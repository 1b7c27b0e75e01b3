"""Flask CLI commands for the team that runs taskapp."""

import click
from flask import current_app
from flask.cli import with_appcontext

from . import store


@click.command("create-table")
@with_appcontext
def create_table():
    """Create the stage's DynamoDB table and its index, unless it exists."""
    name = current_app.config["TABLE_NAME"]
    if store.ensure_table():
        click.echo(f"Created table {name}.")
    else:
        click.echo(f"Table {name} already exists.")
