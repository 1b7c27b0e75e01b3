"""zappa_settings.json: three production-safe stages, each with its own table, limits and role."""

import json
import sys
from pathlib import Path

import click
import pytest
from zappa.cli import ZappaCLI

from deploy import hooks
from tools.iam_policy import Request, allows

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = json.loads((ROOT / "zappa_settings.json").read_text())
STAGES = ["dev", "staging", "prod"]
APP_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
}


def stage(name):
    """A stage's settings after `extends`, as Zappa merges them."""
    settings = SETTINGS[name]
    return SETTINGS[settings["extends"]] | settings if "extends" in settings else settings


@pytest.mark.parametrize("name", STAGES)
def test_stage_is_production_safe(name):
    settings = stage(name)

    assert settings["app_function"] == "wsgi.app"
    assert settings["debug"] is False
    assert settings["log_level"] in ("INFO", "WARNING", "ERROR")
    assert settings["endpoint_configuration"] == ["REGIONAL"]
    assert settings["touch"] is True
    assert isinstance(settings["keep_warm"], bool)
    assert settings["cors"] is False  # Flask answers CORS, the same locally and in AWS
    assert settings["callbacks"]["post"] == "deploy.hooks.post_deploy"


@pytest.mark.parametrize("name", STAGES)
def test_stage_runs_on_the_python_that_builds_it(name, monkeypatch):
    """No stage names a runtime, so Zappa deploys the version of the Python that packages the
    stage: the one that made the package's bytecode and binary wheels."""
    monkeypatch.chdir(ROOT)  # the stage's policy file is named from the project's root
    cli = ZappaCLI()
    cli.api_stage = name
    cli.load_settings(str(ROOT / "zappa_settings.json"))

    assert "runtime" not in stage(name)
    assert cli.runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_each_stage_has_its_own_table_origins_and_limits():
    tables = {stage(name)["aws_environment_variables"]["TABLE_NAME"] for name in STAGES}
    assert tables == {"taskapp-dev", "taskapp-staging", "taskapp-prod"}
    for name in STAGES:
        settings = stage(name)
        assert settings["aws_environment_variables"]["CORS_ORIGINS"]
        assert settings["aws_environment_variables"]["LOG_LEVEL"]
        limits = settings["taskapp"]
        assert 0 < limits["throttle_rate_limit"] <= limits["throttle_burst_limit"]
        assert limits["log_retention_days"] in (1, 3, 5, 7, 14, 30, 60, 90, 120, 180, 365)
    assert stage("prod")["keep_warm"] is True
    assert stage("dev")["keep_warm"] is False


@pytest.mark.parametrize("name", STAGES)
def test_role_may_touch_only_its_own_table_logs_and_function(name):
    settings = stage(name)
    policy = json.loads((ROOT / settings["attach_policy"]).read_text())
    table = settings["aws_environment_variables"]["TABLE_NAME"]
    function = f"{settings['project_name']}-{name}"

    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "*" not in statement["Action"]
        for resource in statement["Resource"]:
            if resource.startswith("arn:aws:dynamodb:"):
                assert resource.split(":", 5)[5] in (f"table/{table}", f"table/{table}/index/*")
                assert set(statement["Action"]) <= APP_ACTIONS
            elif resource.startswith("arn:aws:lambda:"):
                # API Gateway invokes the function as this role: Zappa's integrations name the
                # role as their credentials.
                assert resource == f"arn:aws:lambda:*:*:function:{function}"
                assert statement["Action"] == ["lambda:InvokeFunction"]
            elif resource.startswith("arn:aws:ses:"):
                assert statement["Action"] == ["ses:SendEmail"]  # see the next test
            else:
                assert resource.startswith(f"arn:aws:logs:*:*:log-group:/aws/lambda/{function}")
                assert {action.split(":")[0] for action in statement["Action"]} == {"logs"}
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert APP_ACTIONS <= granted
    assert "lambda:InvokeFunction" in granted
    # Deletes leave tombstones that DynamoDB's TTL removes: the app never deletes an item.
    assert not any(
        action.startswith(("dynamodb:Scan", "dynamodb:Batch", "dynamodb:Delete"))
        for action in granted
    )


@pytest.mark.parametrize("name", STAGES)
def test_role_sends_email_only_as_the_stages_reminder_sender(name):
    """The role may send through SES only from REMINDER_SENDER. SES authorizes a send on the
    identity that verified the sender: the address's own, or its domain's when the domain was
    verified. Both are named, and the ses:FromAddress condition holds either to this address."""
    settings = stage(name)
    policy = json.loads((ROOT / settings["attach_policy"]).read_text())
    sender = settings["aws_environment_variables"]["REMINDER_SENDER"]
    domain = sender.rpartition("@")[2]

    (statement,) = [
        s for s in policy["Statement"] if any(a.startswith("ses:") for a in s["Action"])
    ]
    assert statement["Action"] == ["ses:SendEmail"]
    assert sorted(statement["Resource"]) == sorted(
        [f"arn:aws:ses:*:*:identity/{sender}", f"arn:aws:ses:*:*:identity/{domain}"]
    )
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}

    def sends(identity, from_address, action="ses:SendEmail"):
        arn = f"arn:aws:ses:us-east-1:123456789012:identity/{identity}"
        return allows(policy, Request(action, arn, {"ses:FromAddress": from_address}))

    assert sends(sender, sender) and sends(domain, sender)
    assert not sends(domain, f"ceo@{domain}")
    assert not sends("other.example.net", sender)
    assert not sends(sender, sender, "ses:SendRawEmail")  # SES v1's; the app uses v2


@pytest.mark.parametrize("name", STAGES)
def test_every_stage_sends_reminders_every_minute(name):
    """Zappa's schedule runs wsgi.send_reminders each minute. It is each stage's own setting, not
    common's: a stage turns reminders off by deleting its "events" and running `zappa
    unschedule` (an empty "events" in common would be needed otherwise)."""
    assert "events" not in SETTINGS["common"]
    assert SETTINGS[name]["events"] == [
        {"function": "wsgi.send_reminders", "expression": "rate(1 minute)"}
    ]
    sender = stage(name)["aws_environment_variables"]["REMINDER_SENDER"]
    local, _, domain = sender.partition("@")
    assert local and "." in domain and "@" not in domain


@pytest.mark.parametrize("name", STAGES)
def test_the_reminder_rule_is_named_for_the_stage_and_the_function(name, monkeypatch):
    """Zappa names the EventBridge rule "<function name>-<events' function>": one of the
    deployer's rules (`taskapp-*`), unhashed (Zappa hashes names of 64 characters or more), and
    ending in the path that its handler runs (tests/test_reminder_deploy.py runs it)."""
    monkeypatch.chdir(ROOT)
    cli = ZappaCLI()
    cli.api_stage = name
    cli.load_settings(str(ROOT / "zappa_settings.json"))
    (event,) = cli.stage_config["events"]

    rule = cli.zappa.get_scheduled_event_name(event, event["function"], cli.lambda_name)
    assert rule == f"taskapp-{name}-wsgi.send_reminders"


def test_deployed_stages_identify_their_callers():
    dev = stage("dev")["aws_environment_variables"]
    assert dev["AUTH_MODE"] == "none" and dev["AUTH_ALLOW_NONE"] == "true"  # said on purpose
    for name in ("staging", "prod"):
        environment = stage(name)["aws_environment_variables"]
        assert environment["AUTH_MODE"] in ("jwt", "cognito")
        if environment["AUTH_MODE"] == "jwt":
            assert environment["AUTH_JWKS_URL"].startswith("https://")
            assert environment["AUTH_ISSUER"] and environment["AUTH_AUDIENCE"]


@pytest.mark.parametrize("name", STAGES)
def test_every_stage_requires_api_keys_with_a_usage_plan(name):
    settings = stage(name)
    limits = settings["taskapp"]

    assert settings["api_key_required"] is True
    assert 0 < limits["api_key_rate_limit"] <= limits["api_key_burst_limit"]
    assert limits["api_key_monthly_quota"] > 0


def test_staging_and_prod_keep_backups_and_deletion_protection_and_dev_neither():
    """The post-deploy hook turns point-in-time recovery and deletion protection on unless the
    stage's settings turn them off (deploy/backups.py): dev says so on purpose, the others say
    they keep them, so that deleting the lines changes nothing."""
    for name, kept in (("dev", False), ("staging", True), ("prod", True)):
        limits = stage(name)["taskapp"]
        assert limits["point_in_time_recovery"] is kept
        assert limits["deletion_protection"] is kept


class FakeCli:
    """What the settings callback reads of Zappa's CLI, for a command that needs no table."""

    command = "package"

    def __init__(self, **settings):
        self.stage_config = stage("dev") | settings
        self.aws_environment_variables = dict(self.stage_config["aws_environment_variables"])
        self.zappa = type("Core", (), {"extra_permissions": None})()


@pytest.mark.parametrize("name", STAGES)
def test_no_stage_traces_unless_it_says_so(name):
    cli = FakeCli(**stage(name))

    hooks.settle(cli)

    assert "xray_tracing" not in SETTINGS[name]
    assert cli.aws_environment_variables["TRACING"] == "false"
    assert cli.zappa.extra_permissions is None


def test_a_traced_stage_gets_its_variable_and_leave_to_send_traces_only():
    cli = FakeCli(xray_tracing=True)
    cli.zappa.extra_permissions = [{"Sid": "Other"}]

    hooks.settle(cli)

    assert cli.aws_environment_variables["TRACING"] == "true"
    assert cli.zappa.extra_permissions == [{"Sid": "Other"}, hooks.TRACING_PERMISSION]
    assert hooks.TRACING_PERMISSION["Action"] == [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    ]


@pytest.mark.parametrize("value", ["true", 1, None])
def test_xray_tracing_that_is_not_true_or_false_stops_the_command(value):
    with pytest.raises(click.ClickException, match='"xray_tracing" must be true or false'):
        hooks.settle(FakeCli(xray_tracing=value))
