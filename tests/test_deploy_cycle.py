"""The real `zappa` CLI, deploy to undeploy, against moto's server on loopback.

Everything asserted is read back from the AWS APIs, as a person would check the console.
Every AWS call the zappa processes make (the callbacks' included) is recorded by
tools/aws_calls.py, and the deployer's policy (deploy/deployer-policy.json) must allow each
of them and hold no statement that none of them needs. The cycle turns the per-caller rate
limit on, changes it and turns it off again, so that each of the hook's WAF calls is made. It
also checks the reminders' schedule and sender: the EventBridge rule that runs
wsgi.send_reminders each minute, the SES identity the hook creates, the role's one SES
permission, the global index the hook adds to a table made before it, and that deleting the
stage's "events" and running `zappa unschedule` stops the schedule. It checks what a team
running the stage relies on: the table's point-in-time recovery and deletion protection (on, as
staging and prod have them), the dashboard, the alarms and their topic with the alarm_email
subscribed once, and that `make undeploy`'s forget removes the last three but not the table.
"""

import json
import shutil
import subprocess
import time

import boto3
import pytest

from deploy import hooks
from taskapp import create_app
from taskapp.config import TestConfig
from tests.helpers import deploy_python
from tools import aws_calls, iam_policy
from tools.dynamodb_local import ROOT
from tools.zappa_offline import DEPLOY_VENV, MotoServer, Zappa

STAGE = "dev"
FUNCTION = f"taskapp-{STAGE}"
SETTINGS = json.loads((ROOT / "zappa_settings.json").read_text())
STAGE_SETTINGS = SETTINGS["common"] | SETTINGS[STAGE]
DEPLOYER_POLICY = ROOT / "deploy" / "deployer-policy.json"
ACCOUNT = "123456789012"  # moto's
WEB_ACL = f"{FUNCTION}-callers"
SENDER = STAGE_SETTINGS["aws_environment_variables"]["REMINDER_SENDER"]
# Zappa's rule names: "<function>-<name>-<function path>" for keep-warm (named), else
# "<function>-<function path>".
REMINDERS_RULE = f"{FUNCTION}-wsgi.send_reminders"
KEEP_WARM_RULE = f"{FUNCTION}-zappa-keep-warm-handler.keep_warm_callback"
SCHEDULES = {REMINDERS_RULE: "rate(1 minute)", KEEP_WARM_RULE: "rate(4 minutes)"}
REMINDER_INDEX = "reminder-index"
ALARM_EMAIL = "oncall@example.com"
ALARMS = {
    f"{FUNCTION}-{what}"
    for what in (
        "5xx-rate",
        "p99-latency",
        "function-errors",
        "function-throttles",
        "table-throttles",
        "table-system-errors",
        "reminders-failed",
    )
}
# A call that only this command makes (operation, text in its parameters): proof that each
# command's calls were recorded.
COMMAND_CALLS = {
    "deploy": ("CreateFunction", ""),
    "update": ("UpdateStack", ""),
    "status": ("GetMetricStatistics", ""),
    "tail": ("FilterLogEvents", ""),
    "rollback": ("GetFunction", "function:taskapp-dev:"),
    "undeploy": ("DeleteFunction", ""),
}


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with MotoServer(log=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def calls_file(tmp_path_factory):
    return tmp_path_factory.mktemp("calls") / "calls.jsonl"


@pytest.fixture(scope="module")
def zappa(aws, tmp_path_factory, calls_file):
    zappa = Zappa(aws, tmp_path_factory.mktemp("settings"), STAGE)
    # prod's keep_warm schedule is part of what the deployer does: the cycle exercises it too.
    settings = json.loads(zappa.settings.read_text())
    settings[STAGE]["keep_warm"] = True
    settings[STAGE]["keep_warm_expression"] = SETTINGS["prod"]["keep_warm_expression"]
    # So is the per-caller rate limit of staging and prod (dev has none).
    settings[STAGE]["taskapp"]["caller_rate_limit"] = 2000
    # And staging's and prod's backups and deletion protection, which dev turns off, and an
    # address for the alarms.
    settings[STAGE]["taskapp"] |= {
        "point_in_time_recovery": True,
        "deletion_protection": True,
        "alarm_email": ALARM_EMAIL,
    }
    zappa.settings.write_text(json.dumps(settings))
    recorder = tmp_path_factory.mktemp("recorder")
    shutil.copy(ROOT / "tools" / "aws_calls.py", recorder / "sitecustomize.py")
    zappa.env = zappa.env | {"PYTHONPATH": str(recorder), "AWS_CALLS_FILE": str(calls_file)}
    return zappa


def client(aws, service):
    return boto3.client(
        service,
        endpoint_url=aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_deploy_status_update_tail_rollback_undeploy(aws, zappa, calls_file, log_lines):
    deployed, _ = zappa("deploy")
    check_stage(aws, calls_file)
    check_caller_rate_limit(aws, 2000)
    check_schedules(aws, SCHEDULES)
    check_monitoring(aws)
    assert f"SES sent a verification email to {SENDER}" in deployed
    assert ALARM_EMAIL not in deployed  # CI shows the deploy's output

    status, _ = zappa("status")
    assert FUNCTION in status

    lambda_ = client(aws, "lambda")
    versions = len(lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"])
    set_taskapp_setting(zappa, "caller_rate_limit", 1000)
    # The table as the release before reminders made it: without the reminder index, which
    # the hook adds to it (the settings callback lets it through: only local indexes must match).
    table = STAGE_SETTINGS["aws_environment_variables"]["TABLE_NAME"]
    client(aws, "dynamodb").update_table(
        TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": REMINDER_INDEX}}]
    )
    # Tracing on (README): the stage's "xray_tracing" alone.
    set_stage_setting(zappa, "xray_tracing", True)
    updated, _ = zappa("update")
    assert len(lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"]) > versions
    check_stage(aws, calls_file, traced=True)  # the post-deploy hook ran again, idempotently
    web_acl = check_caller_rate_limit(aws, 1000)
    check_schedules(aws, SCHEDULES)
    check_monitoring(aws)  # nothing duplicated
    assert f"Reminder sender {SENDER}: not verified yet" in updated

    # The app's own line for a request to the stage's table, as its logger writes it.
    stage_app = create_app(TestConfig(table, aws.endpoint))
    assert stage_app.test_client().get("/tasks").status_code == 200
    line = log_lines[-1]
    assert json.loads(line)["path"] == "/tasks"
    put_log_line(aws, line)
    tail, _ = zappa("tail", "--since", "5m", "--disable-keep-open", "--no-color")
    assert line in tail

    # Rollback: the code of the version before the last update, published as a new version.
    first, updated = published(lambda_)[-2:]
    assert first["CodeSha256"] != updated["CodeSha256"]
    zappa("rollback", "-n", "1")
    latest = lambda_.get_function(FunctionName=FUNCTION)["Configuration"]
    assert latest["CodeSha256"] == first["CodeSha256"]
    assert published(lambda_)[-1]["CodeSha256"] == first["CodeSha256"]
    check_stage(aws, calls_file, traced=True)
    by_stack = stack_requests(aws)

    # Reminders off (README): delete the stage's "events", then `zappa unschedule`, which
    # removes every rule of the function, keep-warm's too, until the next update makes it again.
    settings = json.loads(zappa.settings.read_text())
    del settings[STAGE]["events"]
    zappa.settings.write_text(json.dumps(settings))
    zappa("unschedule")
    check_schedules(aws, {})

    set_taskapp_setting(zappa, "caller_rate_limit", None)
    set_stage_setting(zappa, "xray_tracing", False)
    zappa("update")
    check_tracing(aws, calls_file, False)
    check_caller_rate_limit(aws, None)
    check_schedules(aws, {KEEP_WARM_RULE: SCHEDULES[KEEP_WARM_RULE]})

    zappa("undeploy", "--yes", "--remove-logs")
    with pytest.raises(lambda_.exceptions.ResourceNotFoundException):
        lambda_.get_function(FunctionName=FUNCTION)
    assert not client(aws, "events").list_rules(NamePrefix=f"{FUNCTION}-")["Rules"]
    # `make undeploy` then deletes what Zappa's undeploy leaves of the stage's monitoring.
    forget_monitoring(zappa)
    check_monitoring_gone(aws)
    # The table and its tasks outlive the code: undeploying never deletes data, and the table
    # keeps its backups and deletion protection.
    dynamodb = client(aws, "dynamodb")
    assert dynamodb.describe_table(TableName="taskapp-dev")["Table"]["DeletionProtectionEnabled"]
    assert point_in_time_recovery(aws, "taskapp-dev") == "ENABLED"

    calls = aws_calls.read(calls_file)
    unrecorded = by_stack + [iam_policy.web_acl_read(web_acl)] + other_stages_senders(calls)
    check_deployer_policy(calls, unrecorded)


def check_deployer_policy(calls, unrecorded):
    """Every recorded call (and each request of `unrecorded`, which no call shows) is allowed by
    the deployer's policy, and each of its actions, resources and conditions is needed by one
    of them."""
    for command, (operation, text) in COMMAND_CALLS.items():
        assert any(
            call["operation"] == operation and text in json.dumps(call["params"]) for call in calls
        ), command
    requests = iam_policy.required(calls, ACCOUNT) + unrecorded
    policy = json.loads(DEPLOYER_POLICY.read_text())
    denied = sorted(
        {(r.why, r.action, r.resource) for r in requests if not iam_policy.allows(policy, r)}
    )
    assert not denied, "the deployer's policy denies:\n" + "\n".join(map(str, denied))
    spare = iam_policy.unneeded(policy, requests)
    assert not spare, "the deployer's policy allows what no call needs:\n" + "\n".join(
        map(str, spare)
    )


def other_stages_senders(calls):
    """The hook's SES requests for the staging and prod senders: the cycle deploys dev only, and
    the other stages' deploys make the same calls, each for its own sender and its domain."""
    ses = [call for call in calls if call["service"] == "email"]
    assert ses, "the post-deploy hook made no SES call"
    names = {SENDER: "{sender}", SENDER.rpartition("@")[2]: "{domain}"}
    requests = []
    for stage in ("staging", "prod"):
        sender = SETTINGS[stage]["aws_environment_variables"]["REMINDER_SENDER"]
        domain = sender.rpartition("@")[2]
        for call in ses:
            identity = names[call["params"]["EmailIdentity"]].format(sender=sender, domain=domain)
            params = call["params"] | {"EmailIdentity": identity}
            requests += iam_policy.required([call | {"params": params}], ACCOUNT)
    return requests


def stack_requests(aws):
    """What CloudFormation does with the deployer's rights for Zappa's stack: no call shows it."""
    template = client(aws, "cloudformation").get_template(StackName=FUNCTION)["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
    apigateway = client(aws, "apigateway")
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == FUNCTION]
    resources = apigateway.get_resources(restApiId=api["id"], embed=["methods"])["items"]
    role = client(aws, "lambda").get_function_configuration(FunctionName=FUNCTION)["Role"]
    return iam_policy.stack_requests(template, api["id"], resources, "us-east-1", role)


def published(lambda_):
    """The function's published versions, oldest first."""
    versions = lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    return sorted(
        (version for version in versions if version["Version"] != "$LATEST"),
        key=lambda version: int(version["Version"]),
    )


def check_stage(aws, calls_file, traced=False):
    """What a deploy must leave behind, read back from the AWS APIs."""
    environment = STAGE_SETTINGS["aws_environment_variables"]
    check_tracing(aws, calls_file, traced)
    limits = STAGE_SETTINGS["taskapp"]

    function = client(aws, "lambda").get_function_configuration(FunctionName=FUNCTION)
    assert function["Runtime"] == deploy_python()["runtime"]
    assert function["MemorySize"] == STAGE_SETTINGS["memory_size"]
    assert function["Timeout"] == STAGE_SETTINGS["timeout_seconds"]
    assert function["Handler"] == "handler.lambda_handler"
    assert function["Environment"]["Variables"] == environment | {"TRACING": str(traced).lower()}

    iam = client(aws, "iam")
    role = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    expected = json.loads((ROOT / STAGE_SETTINGS["attach_policy"]).read_text())
    if traced:
        expected["Statement"].append(hooks.TRACING_PERMISSION)
    assert policy == expected
    assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    check_sender(aws, policy)

    apigateway = client(aws, "apigateway")
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == FUNCTION]
    # moto's CloudFormation drops EndpointConfiguration: read what Zappa's stack asked for.
    template = client(aws, "cloudformation").get_template(StackName=FUNCTION)["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
    check_role_trust(aws, function["Role"], template)
    (rest_api,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"
    ]
    assert rest_api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    stage = apigateway.get_stage(restApiId=api["id"], stageName=STAGE)
    throttling = stage["methodSettings"]["*/*"]
    assert throttling["throttlingRateLimit"] == limits["throttle_rate_limit"]
    assert throttling["throttlingBurstLimit"] == limits["throttle_burst_limit"]

    assert all(
        method["Properties"]["ApiKeyRequired"] is True
        for method in template["Resources"].values()
        if method["Type"] == "AWS::ApiGateway::Method"
    )
    (key,) = apigateway.get_api_keys(nameQuery=f"{STAGE}_{api['id']}", includeValues=True)["items"]
    assert key["enabled"] and key["value"]
    (plan,) = [p for p in apigateway.get_usage_plans()["items"] if p["name"] == FUNCTION]
    assert plan["throttle"] == {
        "rateLimit": limits["api_key_rate_limit"],
        "burstLimit": limits["api_key_burst_limit"],
    }
    assert plan["quota"]["limit"] == limits["api_key_monthly_quota"]
    assert plan["quota"]["period"] == "MONTH"
    assert plan["apiStages"] == [{"apiId": api["id"], "stage": STAGE}]
    (member,) = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert member["id"] == key["id"]

    (group,) = client(aws, "logs").describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{FUNCTION}"
    )["logGroups"]
    assert group["retentionInDays"] == limits["log_retention_days"]

    table = client(aws, "dynamodb").describe_table(TableName=environment["TABLE_NAME"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = sorted(index["IndexName"] for index in table["LocalSecondaryIndexes"])
    assert indexes == ["changes-index", "due-index", "status-index"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == [REMINDER_INDEX]
    ttl = client(aws, "dynamodb").describe_time_to_live(TableName=environment["TABLE_NAME"])
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def check_tracing(aws, calls_file, traced):
    """The function's tracing mode, the app's TRACING, the role's permission to send traces and
    the API stage's tracing all follow "xray_tracing"."""
    # moto keeps no TracingConfig that an update sets: the mode Zappa's last call asked for.
    (*_, configured) = [
        call
        for call in aws_calls.read(calls_file)
        if call["operation"] in ("CreateFunction", "UpdateFunctionConfiguration")
    ]
    assert configured["params"]["TracingConfig"] == {"Mode": "Active" if traced else "PassThrough"}
    function = client(aws, "lambda").get_function_configuration(FunctionName=FUNCTION)
    assert function["Environment"]["Variables"]["TRACING"] == str(traced).lower()
    iam = client(aws, "iam")
    role = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    assert (hooks.TRACING_PERMISSION in policy["Statement"]) is traced
    apigateway = client(aws, "apigateway")
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == FUNCTION]
    assert apigateway.get_stage(restApiId=api["id"], stageName=STAGE)["tracingEnabled"] is traced


def check_sender(aws, role_policy):
    """The stage's sender has an SES identity (the hook made it: the domain's is the team's to
    make), and the role's policy, as IAM holds it, lets the function send only from it."""
    sesv2 = client(aws, "sesv2")
    assert sesv2.get_email_identity(EmailIdentity=SENDER)["IdentityType"] == "EMAIL_ADDRESS"
    domain = SENDER.rpartition("@")[2]
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_email_identity(EmailIdentity=domain)

    def sends(action, identity, from_address):
        arn = f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/{identity}"
        return iam_policy.allows(
            role_policy, iam_policy.Request(action, arn, {"ses:FromAddress": from_address})
        )

    assert sends("ses:SendEmail", SENDER, SENDER)
    assert sends("ses:SendEmail", domain, SENDER)  # when SES verified it through its domain
    assert not sends("ses:SendEmail", domain, f"someone-else@{domain}")
    assert not sends("ses:SendEmail", "other.example.net", SENDER)
    ses_actions = {
        action
        for statement in role_policy["Statement"]
        for action in statement["Action"]
        if action.startswith("ses:")
    }
    assert ses_actions == {"ses:SendEmail"}


def check_schedules(aws, expected):
    """The function's EventBridge rules, {name: schedule expression}: each is enabled, targets
    the function, and may invoke it (a statement of the function's resource policy names the
    rule, as AWS needs); the policy lets no other rule in."""
    events = client(aws, "events")
    function = client(aws, "lambda").get_function_configuration(FunctionName=FUNCTION)
    names = events.list_rule_names_by_target(TargetArn=function["FunctionArn"])["RuleNames"]
    rules = {name: events.describe_rule(Name=name) for name in names}
    assert {name: rule["ScheduleExpression"] for name, rule in rules.items()} == expected
    for name, rule in rules.items():
        assert rule["State"] == "ENABLED"
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == function["FunctionArn"]
    assert invoking_rules(aws) == {rule["Arn"] for rule in rules.values()}


def invoking_rules(aws):
    """The rule ARNs that the function's resource policy lets EventBridge invoke it for."""
    lambda_ = client(aws, "lambda")
    try:
        policy = json.loads(lambda_.get_policy(FunctionName=FUNCTION)["Policy"])
    except lambda_.exceptions.ResourceNotFoundException:
        return set()
    return {
        statement["Condition"]["ArnLike"]["AWS:SourceArn"]
        for statement in policy["Statement"]
        if statement["Principal"] == {"Service": "events.amazonaws.com"}
    }


def check_role_trust(aws, role_arn, template):
    """The function's role trusts the services of deploy/function-trust.json, and each of them
    is one that the deploy hands the role to: no fewer (the API or the schedule would fail in
    AWS, though not on moto, which checks no trust) and no more."""
    role = client(aws, "iam").get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust == json.loads((ROOT / STAGE_SETTINGS["assume_policy"]).read_text())
    trusted = set()
    for statement in trust["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
        assert set(statement["Principal"]) == {"Service"}
        services = statement["Principal"]["Service"]
        trusted |= {services} if isinstance(services, str) else set(services)

    needed = {"lambda.amazonaws.com"}  # the function runs as the role
    integrations = [
        resource["Properties"]["Integration"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ApiGateway::Method"
    ]
    if any(integration.get("Credentials") == role_arn for integration in integrations):
        # Zappa's REST integrations invoke the function as the role, not through its resource
        # policy: API Gateway assumes it for every request.
        needed.add("apigateway.amazonaws.com")
    rules = client(aws, "events").list_rules(NamePrefix=f"{FUNCTION}-")["Rules"]
    if any(rule.get("RoleArn") == role_arn for rule in rules):
        # Zappa's PutRule names the role; EventBridge refuses a role it may not assume.
        needed.add("events.amazonaws.com")
    assert trusted == needed


def check_caller_rate_limit(aws, limit):
    """The stage's web ACL and its rule, as the WAF and API Gateway consoles show them; with
    no limit, neither the ACL nor its association. Returns the ACL's ARN."""
    wafv2 = client(aws, "wafv2")
    apigateway = client(aws, "apigateway")
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == FUNCTION]
    stage = apigateway.get_stage(restApiId=api["id"], stageName=STAGE)
    named = [a for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == WEB_ACL]
    if limit is None:
        assert "webAclArn" not in stage
        assert not named
        return None
    (summary,) = named
    assert stage["webAclArn"] == summary["ARN"]
    acl = wafv2.get_web_acl(Name=WEB_ACL, Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    assert acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == limit
    assert statement["AggregateKeyType"] == "CUSTOM_KEYS"
    assert [key["Header"]["Name"] for key in statement["CustomKeys"]] == ["authorization"]
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert list(json.loads(body["Content"])) == ["error"]
    return acl["ARN"]


def point_in_time_recovery(aws, table):
    backups = client(aws, "dynamodb").describe_continuous_backups(TableName=table)
    description = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    return description["PointInTimeRecoveryStatus"]


def check_monitoring(aws):
    """The table's protection, the dashboard, the alarms and their topic, each there once."""
    table = STAGE_SETTINGS["aws_environment_variables"]["TABLE_NAME"]
    assert point_in_time_recovery(aws, table) == "ENABLED"
    described = client(aws, "dynamodb").describe_table(TableName=table)["Table"]
    assert described["DeletionProtectionEnabled"] is True

    cloudwatch = client(aws, "cloudwatch")
    (dashboard,) = cloudwatch.list_dashboards(DashboardNamePrefix=FUNCTION)["DashboardEntries"]
    assert dashboard["DashboardName"] == FUNCTION
    body = json.loads(cloudwatch.get_dashboard(DashboardName=FUNCTION)["DashboardBody"])
    lines = [line for w in body["widgets"] for line in w["properties"]["metrics"]]
    named = {(line[0], line[1], *line[2:-1]) for line in lines}
    assert ("AWS/ApiGateway", "Latency", "ApiName", FUNCTION, "Stage", STAGE) in named
    assert ("AWS/Lambda", "Errors", "FunctionName", FUNCTION) in named
    assert ("AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", table) in named
    assert ("taskapp", "TasksCreated", "Stage", STAGE) in named

    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{FUNCTION}-alarms"
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{FUNCTION}-")["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in alarms) == sorted(ALARMS)
    assert all(alarm["AlarmActions"] == [topic] for alarm in alarms)
    subscriptions = client(aws, "sns").list_subscriptions_by_topic(TopicArn=topic)
    (subscription,) = subscriptions["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", ALARM_EMAIL)


def forget_monitoring(zappa):
    """`make undeploy`'s last line, with the deploy virtualenv and the calls recorded."""
    subprocess.run(
        [str(DEPLOY_VENV / "bin" / "python"), "-m", "deploy.monitoring", "forget", STAGE],
        cwd=ROOT,
        env=zappa.env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def check_monitoring_gone(aws):
    cloudwatch = client(aws, "cloudwatch")
    assert not cloudwatch.list_dashboards(DashboardNamePrefix=FUNCTION)["DashboardEntries"]
    assert not cloudwatch.describe_alarms(AlarmNamePrefix=f"{FUNCTION}-")["MetricAlarms"]
    topics = [t["TopicArn"] for t in client(aws, "sns").list_topics()["Topics"]]
    assert not [arn for arn in topics if arn.endswith(f":{FUNCTION}-alarms")]


def set_stage_setting(zappa, name, value):
    """Set one of the stage's own settings in the cycle's copy."""
    settings = json.loads(zappa.settings.read_text())
    settings[STAGE][name] = value
    zappa.settings.write_text(json.dumps(settings))


def set_taskapp_setting(zappa, name, value):
    """Change one of the stage's "taskapp" settings in the cycle's copy; None removes it."""
    settings = json.loads(zappa.settings.read_text())
    limits = settings[STAGE]["taskapp"]
    if value is None:
        limits.pop(name, None)
    else:
        limits[name] = value
    zappa.settings.write_text(json.dumps(settings))


def put_log_line(aws, line):
    """A line the function wrote to stdout (moto runs no code, so the test puts it there)."""
    logs = client(aws, "logs")
    group, stream = f"/aws/lambda/{FUNCTION}", "2026/11/25/[$LATEST]test"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    # zappa tail asks for events up to the current whole second.
    timestamp = int(time.time() * 1000) - 5000
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": timestamp, "message": line + "\n"}],
    )
