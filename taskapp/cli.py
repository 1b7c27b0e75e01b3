"""Flask CLI commands for the team that runs taskapp."""

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from . import store
from .auth import DEV_AUDIENCE, DEV_ISSUER


@click.command("create-table")
@with_appcontext
def create_table():
    """Create the stage's DynamoDB table and its indexes, unless it exists; check one that does."""
    name = current_app.config["TABLE_NAME"]
    try:
        created = store.ensure_table()
    except store.TableMismatch as error:
        raise click.ClickException(str(error)) from None
    if created:
        click.echo(f"Created table {name}.")
    else:
        click.echo(f"Table {name} already exists, with this release's indexes.")


@click.command("migrate-table")
@click.option("--from", "source", required=True, help="The table of the earlier release.")
@click.option("--to", "target", required=True, help="The new table; made if missing.")
@with_appcontext
def migrate_table(source, target):
    """Copy every task and live idempotency record from an earlier release's table into a new one.

    Safe to run again: it resumes where a stopped run stopped, and after a finished run it
    copies only what changed in the old table since (never over a newer version).
    """
    if source == target:
        raise click.ClickException("--from and --to must name two different tables.")
    try:
        counts = store.migrate_table(source, target, echo=click.echo)
    except store.TableMismatch as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Done: {counts['tasks']} tasks and {counts['records']} idempotency records are in "
        f"{target}. Point the stage's TABLE_NAME at {target}; {source} is left as it was."
    )


@click.command("dev-token")
@click.argument("user")
@click.option("--hours", default=12, show_default=True, help="How long the token is valid.")
@with_appcontext
def dev_token(user, hours):
    """Mint a bearer token for USER, signed by the local development key.

    Only AUTH_MODE=none trusts that key, so the token is for local multi-user testing:
    curl -H "Authorization: Bearer $(flask --app wsgi dev-token alice)" .../tasks
    """
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if current_app.config["AUTH_MODE"] != "none":
        raise click.ClickException("Only AUTH_MODE=none trusts the development key.")
    path = Path(current_app.config["AUTH_DEV_KEY"])
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.touch(mode=0o600)
        path.write_bytes(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    now = int(time.time())
    claims = {"sub": user, "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "iat": now}
    click.echo(jwt.encode(claims | {"exp": now + hours * 3600}, key, algorithm="RS256"))
