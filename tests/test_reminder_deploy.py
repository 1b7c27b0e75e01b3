"""The deployment side of reminders: Zappa's schedule reaches wsgi.send_reminders, and the
post-deploy hook gives each stage's sender an SES identity (deploy/sender.py).

tests/test_deploy_cycle.py checks the same against moto with the real `zappa` CLI: the rule,
its target and the function's permission after a deploy, the identity, the role's policy,
and that `zappa unschedule` removes the rule.
"""

import json
import subprocess
import sys

import boto3
import click
import pytest
from botocore.stub import Stubber
from zappa.cli import ZappaCLI

from deploy.sender import ensure_sender
from tools.dynamodb_local import ROOT

SENDER = "reminders@example.com"

# wsgi.py for the handler test: an app Zappa can load, and a send_reminders that writes down
# what it was called with.
STUB_WSGI = """
import json
import os


def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]


def send_reminders(event, context):
    with open(os.environ["CALLED_WITH"], "w") as called:
        json.dump({"event": event, "function": context.function_name}, called)
    return "sent"
"""

INVOKE = """
import json
import sys
from types import SimpleNamespace

from zappa.handler import lambda_handler

context = SimpleNamespace(function_name=sys.argv[2], aws_request_id="1")
print(json.dumps(lambda_handler(json.loads(sys.argv[1]), context)))
"""


def test_zappas_handler_runs_send_reminders_for_the_stages_schedule(tmp_path, monkeypatch):
    """The event EventBridge delivers for the rule Zappa makes from dev's "events" (through
    the target's input transformer) is dispatched by Zappa's own handler, with the settings
    module Zappa packages for dev, to wsgi.send_reminders(event, context)."""
    monkeypatch.chdir(ROOT)
    cli = ZappaCLI()
    cli.api_stage = "dev"
    cli.load_settings(str(ROOT / "zappa_settings.json"))
    (schedule,) = cli.stage_config["events"]
    rule = cli.zappa.get_scheduled_event_name(schedule, schedule["function"], cli.lambda_name)
    (tmp_path / "zappa_settings.py").write_text(cli.get_zappa_settings_string())
    (tmp_path / "wsgi.py").write_text(STUB_WSGI)
    event = {
        "time": "2026-11-25T10:00:00Z",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {},
        "version": "0",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"],
        "id": "5c0b8d6e-0000-0000-0000-000000000000",
        "kwargs": {},
    }
    called_with = tmp_path / "called.json"
    # A fresh interpreter whose first path entry is the stub's folder, as /var/task is in
    # Lambda: the project's own wsgi.py is not importable there.
    env = {"PATH": "/usr/bin:/bin", "CALLED_WITH": str(called_with), "AWS_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-c", INVOKE, json.dumps(event), cli.lambda_name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == "sent"
    assert json.loads(called_with.read_text()) == {"event": event, "function": "taskapp-dev"}


@pytest.fixture
def sesv2():
    client = boto3.client(
        "sesv2",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def identity(verified):
    return {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": verified}


def not_found(stubber, name):
    stubber.add_client_error(
        "get_email_identity",
        service_error_code="NotFoundException",
        http_status_code=404,
        expected_params={"EmailIdentity": name},
    )


def found(stubber, name, verified):
    stubber.add_response(
        "get_email_identity", identity(verified), expected_params={"EmailIdentity": name}
    )


def test_a_sender_without_identity_gets_one_and_is_told_to_verify_it(sesv2, capsys):
    client, stubber = sesv2
    not_found(stubber, "example.com")
    not_found(stubber, SENDER)
    stubber.add_response(
        "create_email_identity", identity(False), expected_params={"EmailIdentity": SENDER}
    )

    ensure_sender(client, SENDER)

    (line,) = capsys.readouterr().out.splitlines()
    assert "not verified" in line
    assert f"SES sent a verification email to {SENDER}" in line


def test_a_pending_identity_is_left_as_it_is(sesv2, capsys):
    client, stubber = sesv2
    not_found(stubber, "example.com")
    found(stubber, SENDER, verified=False)

    ensure_sender(client, SENDER)  # no CreateEmailIdentity: the stubber would refuse it

    (line,) = capsys.readouterr().out.splitlines()
    assert "not verified yet" in line and f"verification email to {SENDER}" in line


def test_a_verified_address_needs_nothing(sesv2, capsys):
    client, stubber = sesv2
    not_found(stubber, "example.com")
    found(stubber, SENDER, verified=True)

    ensure_sender(client, SENDER)

    assert capsys.readouterr().out == f"Reminder sender {SENDER}: verified.\n"


def test_a_verified_domain_covers_its_addresses(sesv2, capsys):
    """No address identity is made, and SES sends no verification email to an address that
    may have no mailbox."""
    client, stubber = sesv2
    found(stubber, "example.com", verified=True)

    ensure_sender(client, SENDER)

    assert capsys.readouterr().out == (
        f"Reminder sender {SENDER}: verified (its domain example.com is).\n"
    )


def test_an_identity_another_deploy_just_made_is_pending(sesv2, capsys):
    client, stubber = sesv2
    not_found(stubber, "example.com")
    not_found(stubber, SENDER)
    stubber.add_client_error(
        "create_email_identity",
        service_error_code="AlreadyExistsException",
        http_status_code=400,
        expected_params={"EmailIdentity": SENDER},
    )

    ensure_sender(client, SENDER)

    (line,) = capsys.readouterr().out.splitlines()
    assert "not verified yet" in line


@pytest.mark.parametrize("sender", ["reminders", "@example.com", "reminders@", "a@b@example.com"])
def test_a_sender_that_is_not_an_address_stops_the_hook(sesv2, sender):
    client, _ = sesv2
    with pytest.raises(click.ClickException, match="REMINDER_SENDER must be an email address"):
        ensure_sender(client, sender)
