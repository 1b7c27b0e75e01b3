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
    """Create the stage's DynamoDB table and its index, unless it exists."""
    name = current_app.config["TABLE_NAME"]
    if store.ensure_table():
        click.echo(f"Created table {name}.")
    else:
        click.echo(f"Table {name} already exists.")


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
