"""Flask CLI commands for the team that runs taskapp, and what `flask` loads when it cannot build
the app.

Every failure a command foresees ends in one sentence (a click.ClickException) that says what to
set or do, never in a traceback.
"""

import re
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from . import store
from .auth import DEV_AUDIENCE, DEV_ISSUER

# A development token's subject names its owner in the table's keys and in logs: a plain name.
_SUBJECT = re.compile(r"[A-Za-z0-9._@+-]{1,128}")
MAX_TOKEN_HOURS = 30 * 24
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


@click.command("create-table")
@click.option(
    "--wait",
    type=click.IntRange(min=0),
    default=0,
    metavar="SECONDS",
    help="Keep trying this long while DynamoDB does not answer (one that is starting).",
)
@with_appcontext
def create_table(wait):
    """Create the stage's DynamoDB table and its indexes, unless it exists; check one that does."""
    name = current_app.config["TABLE_NAME"]
    deadline = time.monotonic() + wait
    while True:
        try:
            created = store.ensure_table()
            break
        except (store.TableMismatch, store.StoreMisconfigured) as error:
            raise click.ClickException(str(error)) from None
        except store.StoreUnavailable:
            if time.monotonic() >= deadline:
                raise click.ClickException(_unavailable("run it again")) from None
            time.sleep(1)
    if created:
        # A new table holds no reminder from before now: the scheduler need not look back
        # over the catch-up window, as it does when it finds no cursor (a deployed stage's
        # table, made by a deployer that may not write items).
        store.start_reminders_now()
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
    except (store.TableMismatch, store.StoreMisconfigured) as error:
        raise click.ClickException(str(error)) from None
    except store.StoreUnavailable:
        raise click.ClickException(
            _unavailable("run it again: it resumes where it stopped")
        ) from None
    click.echo(
        f"Done: {counts['tasks']} tasks and {counts['records']} idempotency records are in "
        f"{target}. Point the stage's TABLE_NAME at {target}; {source} is left as it was."
    )


@click.command("dev-token")
@click.argument("user")
@click.option("--hours", default=12, show_default=True, help="How long the token is valid.")
@click.option(
    "--email",
    default=None,
    metavar="ADDRESS",
    help="A verified email address for the token (where USER's reminders go).",
)
@with_appcontext
def dev_token(user, hours, email):
    """Mint a bearer token for USER, signed by the local development key.

    Only AUTH_MODE=none trusts that key, so the token is for local multi-user testing:
    curl -H "Authorization: Bearer $(flask --app wsgi dev-token alice)" .../tasks
    With --email, the token carries that address as a verified email, as a Cognito ID token
    does, and USER's reminders go there.
    """
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not _SUBJECT.fullmatch(user):
        raise click.ClickException(
            f"USER must be 1 to 128 letters, digits or . _ @ + - (such as alice), not {user!r}."
        )
    if not 1 <= hours <= MAX_TOKEN_HOURS:
        raise click.ClickException(
            f"--hours must be from 1 to {MAX_TOKEN_HOURS} (30 days), not {hours}."
        )
    if email is not None and not _EMAIL.fullmatch(email):
        raise click.ClickException(
            f"--email must be an email address such as alice@example.com, not {email!r}."
        )
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
    if email is not None:
        claims |= {"email": email, "email_verified": True}
    click.echo(jwt.encode(claims | {"exp": now + hours * 3600}, key, algorithm="RS256"))


COMMANDS = (create_table, dev_token, migrate_table)


def app_for_commands(error):
    """What wsgi.py offers when the settings are wrong (``error``, a ConfigError).

    While `flask` lists or looks up commands, an app that holds this project's commands, each
    of which refuses with the error's sentence: `flask --app wsgi --help` still shows them.
    A `flask` command that needs the app itself (run, shell, routes) refuses with that sentence.
    Anywhere else (Zappa's handler, gunicorn, a test) the error propagates: a stage with bad
    settings fails loudly at import.
    """
    context = click.get_current_context(silent=True)
    if context is None or context.find_object(ScriptInfo) is None:
        raise error
    if not isinstance(context.command, FlaskGroup):
        raise click.ClickException(str(error)) from None
    app = Flask(__name__)
    for command in COMMANDS:
        app.cli.add_command(_refusing(command, str(error)))
    return app


def _refusing(command, sentence):
    """``command`` with its name, help and options, which only says ``sentence``."""

    def refuse(**_):
        raise click.ClickException(sentence)

    return click.Command(
        command.name,
        params=command.params,
        callback=refuse,
        help=command.help,
        short_help=command.short_help,
    )


def _unavailable(then):
    """The sentence for a DynamoDB that did not answer, or throttled every try."""
    endpoint = current_app.config["DYNAMODB_ENDPOINT"]
    where = f"at {endpoint}" if endpoint else f"in region {current_app.config['AWS_REGION']}"
    return (
        f"DynamoDB {where} did not answer or throttled every try: check that it runs there "
        f"(DYNAMODB_ENDPOINT, AWS_REGION), then {then}."
    )
