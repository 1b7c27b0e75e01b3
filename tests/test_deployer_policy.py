"""The deployer's IAM policies (deploy/): what they may touch, and the evaluator that checks them.

tests/test_deploy_cycle.py records every AWS call of a real deploy cycle and checks that
deploy/deployer-policy.json allows each of them and nothing more; this module pins the
policy's shape, the GitHub OIDC trust policy's conditions, and the evaluator itself.
"""

import json
from pathlib import Path

import pytest
import yaml

from tools.iam_policy import Request, allows, matches, pass_role, required, unneeded

ROOT = Path(__file__).resolve().parent.parent
POLICY = json.loads((ROOT / "deploy" / "deployer-policy.json").read_text())
TRUST = json.loads((ROOT / "deploy" / "github-oidc-trust.json").read_text())
REPOSITORY = "your-org/taskapp"  # a placeholder the README says to replace
OIDC = "token.actions.githubusercontent.com"
PROJECT = "taskapp"
# Statements that AWS allows no narrower Resource for, each explained in the README.
ACCOUNT_WIDE = {
    "FunctionMetrics": ["cloudwatch:GetMetricStatistics"],
    "FindCallerRateLimits": ["wafv2:ListWebACLs"],
}


def listed(value):
    return value if isinstance(value, list) else [value]


def test_every_statement_allows_named_actions_only():
    sids = [statement["Sid"] for statement in POLICY["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in POLICY["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        for action in listed(statement["Action"]):
            service, name = action.split(":")
            assert "*" not in name and "?" not in name, action


def test_star_resources_only_where_aws_allows_nothing_narrower():
    for statement in POLICY["Statement"]:
        if "*" in listed(statement["Resource"]):
            assert listed(statement["Action"]) == ACCOUNT_WIDE[statement["Sid"]]
        else:
            assert statement["Sid"] not in ACCOUNT_WIDE


def test_resources_name_this_project():
    """Every resource pattern names the project, except API Gateway's (its ARNs carry ids, not
    names), its execution logs (named by API id), the lookup of a function's schedules and the
    SES identities of the reminder senders (named by address: see the next test)."""
    by_id = {
        "arn:aws:apigateway:",
        "arn:aws:logs:us-east-1:*:log-group:API-Gateway-Execution-Logs_*",
        "arn:aws:events:us-east-1:*:rule/*",
        "arn:aws:ses:",
    }
    for statement in POLICY["Statement"]:
        for resource in listed(statement["Resource"]):
            if resource == "*" or any(resource.startswith(prefix) for prefix in by_id):
                continue
            assert f":{PROJECT}-" in resource or f"/{PROJECT}-" in resource, resource


def test_ses_only_on_the_stages_reminder_senders():
    """The post-deploy hook reads the identity of each stage's REMINDER_SENDER and of its domain,
    and creates the address's: the deployer may create no other identity, a domain's least
    (that takes DNS records), and may not send."""
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    senders = {
        settings[stage]["aws_environment_variables"]["REMINDER_SENDER"]
        for stage in ("dev", "staging", "prod")
    }
    domains = {sender.rpartition("@")[2] for sender in senders}
    identity = "arn:aws:ses:us-east-1:*:identity/{}".format
    granted = {}
    for statement in POLICY["Statement"]:
        for action in listed(statement["Action"]):
            if action.startswith("ses:"):
                granted.setdefault(action, set()).update(listed(statement["Resource"]))
    assert granted == {
        "ses:GetEmailIdentity": {identity(name) for name in senders | domains},
        "ses:CreateEmailIdentity": {identity(sender) for sender in senders},
    }


def test_regional_resources_are_in_the_stages_region():
    """IAM roles, S3 buckets and CloudWatch dashboards are global: their ARNs name no region."""
    region = json.loads((ROOT / "zappa_settings.json").read_text())["common"]["aws_region"]
    global_ = ("arn:aws:iam:", "arn:aws:s3:", "arn:aws:cloudwatch::*:dashboard/")
    for statement in POLICY["Statement"]:
        for resource in listed(statement["Resource"]):
            if resource != "*" and not resource.startswith(global_):
                assert resource.split(":")[3] == region, resource


def test_monitoring_only_on_the_stages_dashboards_alarms_topics_and_table_backups():
    """The post-deploy hook and `make undeploy` keep each stage's dashboard, alarms, alarm topic
    and table backups (deploy/monitoring.py, deploy/backups.py): the deployer may write no
    other dashboard, alarm or topic, publish to none, and read no metric data but zappa
    status's."""
    granted = {}
    for statement in POLICY["Statement"]:
        for action in listed(statement["Action"]):
            if action.startswith(("cloudwatch:", "sns:")) or "ContinuousBackups" in action:
                granted.setdefault(action, set()).update(listed(statement["Resource"]))
    dashboard = "arn:aws:cloudwatch::*:dashboard/taskapp-*"
    alarm = "arn:aws:cloudwatch:us-east-1:*:alarm:taskapp-*"
    topic = "arn:aws:sns:us-east-1:*:taskapp-*-alarms"
    table = "arn:aws:dynamodb:us-east-1:*:table/taskapp-*"
    assert granted == {
        "cloudwatch:GetMetricStatistics": {"*"},
        "cloudwatch:PutDashboard": {dashboard},
        "cloudwatch:DeleteDashboards": {dashboard},
        "cloudwatch:PutMetricAlarm": {alarm},
        "cloudwatch:DescribeAlarms": {alarm},
        "cloudwatch:DeleteAlarms": {alarm},
        "sns:CreateTopic": {topic},
        "sns:Subscribe": {topic},
        "sns:ListSubscriptionsByTopic": {topic},
        "sns:DeleteTopic": {topic},
        "dynamodb:DescribeContinuousBackups": {table},
        "dynamodb:UpdateContinuousBackups": {table},
    }
    other = "arn:aws:sns:us-east-1:123456789012:billing-alarms"
    assert not allows(POLICY, Request("sns:Subscribe", other))
    assert not allows(POLICY, Request("sns:Publish", other.replace("billing", "taskapp-dev")))


def test_iam_only_on_the_projects_roles_and_passrole_only_to_its_services():
    role = f"arn:aws:iam::*:role/{PROJECT}-*-ZappaLambdaExecutionRole"
    for statement in POLICY["Statement"]:
        actions = listed(statement["Action"])
        if any(action.startswith("iam:") for action in actions):
            assert listed(statement["Resource"]) == [role]
            assert all(action.startswith("iam:") for action in actions)
        if "iam:PassRole" in actions:
            assert actions == ["iam:PassRole"]
            passed = statement["Condition"]["StringEquals"]["iam:PassedToService"]
            # Lambda runs as the role; API Gateway's integrations and EventBridge's keep-warm
            # rule are given it by Zappa (Integration.Credentials, PutRule's RoleArn).
            assert set(passed) <= {
                "lambda.amazonaws.com",
                "apigateway.amazonaws.com",
                "events.amazonaws.com",
            }
    assert not allows(POLICY, pass_role(role.replace("*", "dev", 1), "ec2.amazonaws.com"))
    other = "arn:aws:iam::123456789012:role/admin"
    assert not allows(POLICY, pass_role(other, "lambda.amazonaws.com"))
    assert not allows(POLICY, Request("iam:PutRolePolicy", other))


@pytest.mark.parametrize(
    "action, resource",
    [
        ("lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:123456789012:function:billing"),
        ("dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:123456789012:table/taskapp-prod"),
        ("dynamodb:DescribeTable", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
        ("s3:PutObject", "arn:aws:s3:::someone-elses-bucket/key"),
        ("logs:DeleteLogGroup", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x"),
        ("cloudformation:DeleteStack", "arn:aws:cloudformation:us-east-1:1:stack/other/id"),
        ("events:PutRule", "arn:aws:events:us-east-1:123456789012:rule/other-rule"),
        ("iam:CreateUser", "arn:aws:iam::123456789012:user/someone"),
        ("lambda:GetFunction", "arn:aws:lambda:eu-west-1:123456789012:function:taskapp-dev"),
        ("wafv2:DeleteWebACL", "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/other/1"),
        ("wafv2:UpdateWebACL", "arn:aws:wafv2:us-east-1:123456789012:global/webacl/taskapp-x/1"),
        ("wafv2:CreateRuleGroup", "arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/x/1"),
        ("apigateway:SetWebACL", "arn:aws:apigateway:eu-west-1::/restapis/abc/stages/dev"),
        ("dynamodb:UpdateTable", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
        # The hook writes the scheduler's starting point; it never reads or deletes tasks.
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/taskapp-prod"),
        ("dynamodb:Scan", "arn:aws:dynamodb:us-east-1:123456789012:table/taskapp-prod"),
        ("dynamodb:DeleteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/taskapp-prod"),
        ("ses:CreateEmailIdentity", "arn:aws:ses:us-east-1:123456789012:identity/example.com"),
        ("ses:CreateEmailIdentity", "arn:aws:ses:us-east-1:123456789012:identity/ceo@example.com"),
        ("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/reminders@example.com"),
        ("ses:DeleteEmailIdentity", "arn:aws:ses:us-east-1:123456789012:identity/example.com"),
    ],
)
def test_the_policy_refuses_what_is_not_this_projects(action, resource):
    assert not allows(POLICY, Request(action, resource))


def test_the_trust_policy_admits_this_repositorys_environments_only():
    (statement,) = TRUST["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{OIDC}")
    assert set(statement["Condition"]) == {"StringEquals"}  # no wildcards in a subject
    conditions = statement["Condition"]["StringEquals"]
    assert conditions[f"{OIDC}:aud"] == "sts.amazonaws.com"
    subjects = listed(conditions[f"{OIDC}:sub"])
    stages = {"dev", "staging", "prod"}
    assert sorted(subjects) == sorted(f"repo:{REPOSITORY}:environment:{s}" for s in stages)
    assert stages == set(json.loads((ROOT / "zappa_settings.json").read_text())) - {"common"}
    # The environments named are the ones the deploy jobs run in.
    workflows = ROOT / ".github" / "workflows"
    deployed = {
        job["with"]["stage"]
        for path in workflows.glob("*.yml")
        for job in yaml.safe_load(path.read_text())["jobs"].values()
        if job.get("uses") == "./.github/workflows/deploy.yml"
    }
    assert deployed == stages


# The evaluator: a test that trusts it must be able to fail.


def test_wildcards_match_as_iam_does():
    assert matches(
        "arn:aws:lambda:*:*:function:taskapp-*", "arn:aws:lambda:us-east-1:1:function:taskapp-dev:3"
    )
    assert matches(
        "arn:aws:s3:::taskapp-deployments-*/*", "arn:aws:s3:::taskapp-deployments-dev/a/b.zip"
    )
    assert matches("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-1")
    assert not matches("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-12")
    assert not matches("arn:aws:s3:::taskapp-*", "arn:aws:s3:::other-taskapp-x")
    assert not matches("table/taskapp-dev", "table/taskapp-dev/index/due-index")
    assert not matches("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket")
    assert matches("lambda:getfunction", "lambda:GetFunction", case_sensitive=False)


def test_conditions_must_hold():
    policy = {
        "Statement": [
            {
                "Sid": "Pass",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/r",
                "Condition": {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}},
            }
        ]
    }
    role = "arn:aws:iam::1:role/r"
    assert allows(policy, pass_role(role, "lambda.amazonaws.com"))
    assert not allows(policy, pass_role(role, "ec2.amazonaws.com"))
    assert not allows(policy, Request("iam:PassRole", role))  # no context: no match


def test_unneeded_names_every_spare_action_resource_and_value():
    policy = {
        "Statement": [
            {
                "Sid": "Used",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"],
            },
            {"Sid": "Spare", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
        ]
    }
    requests = [Request("s3:GetObject", "arn:aws:s3:::a/key")]
    assert unneeded(policy, requests) == [
        ("Used", "s3:DeleteObject"),
        ("Used", "arn:aws:s3:::b/*"),
        ("Spare", "the whole statement"),
    ]


def test_recorded_calls_map_to_actions_and_arns():
    calls = [
        {
            "service": "apigateway",
            "operation": "UpdateStage",
            "method": "PATCH",
            "uri": "/restapis/abc/stages/dev",
            "region": "us-east-1",
            "params": {"restApiId": "abc", "stageName": "dev"},
        },
        {
            "service": "s3",
            "operation": "HeadBucket",
            "method": "HEAD",
            "uri": "/",
            "region": "us-east-1",
            "params": {"Bucket": "taskapp-deployments-dev"},
        },
        {
            "service": "lambda",
            "operation": "CreateFunction",
            "method": "POST",
            "uri": "/2015-03-31/functions",
            "region": "us-east-1",
            "params": {"FunctionName": "taskapp-dev", "Role": "arn:aws:iam::1:role/r"},
        },
        {
            "service": "sts",
            "operation": "GetCallerIdentity",
            "method": "POST",
            "uri": "/",
            "region": "us-east-1",
            "params": {},
        },
    ]
    assert [(r.action, r.resource) for r in required(calls, "1")] == [
        ("apigateway:PATCH", "arn:aws:apigateway:us-east-1::/restapis/abc/stages/dev"),
        ("s3:ListBucket", "arn:aws:s3:::taskapp-deployments-dev"),
        ("lambda:CreateFunction", "arn:aws:lambda:us-east-1:1:function:taskapp-dev"),
        ("iam:PassRole", "arn:aws:iam::1:role/r"),
    ]
    with pytest.raises(KeyError, match="no IAM mapping"):
        required([{**calls[0], "service": "sns", "operation": "Publish"}], "1")


def test_web_acl_calls_map_to_the_acl_the_stage_and_the_stages_own_permission():
    acl = "arn:aws:wafv2:us-east-1:1:regional/webacl/taskapp-dev-callers/abc"
    stage = "arn:aws:apigateway:us-east-1::/restapis/xyz/stages/dev"

    def call(operation, **params):
        return {
            "service": "wafv2",
            "operation": operation,
            "method": "POST",
            "uri": "/",
            "region": "us-east-1",
            "params": params,
        }

    calls = [
        call("ListWebACLs", Scope="REGIONAL"),
        call("CreateWebACL", Name="taskapp-dev-callers", Scope="REGIONAL"),
        call("UpdateWebACL", Name="taskapp-dev-callers", Scope="REGIONAL", Id="abc"),
        call("AssociateWebACL", WebACLArn=acl, ResourceArn=stage),
        call("GetWebACLForResource", ResourceArn=stage),
        call("DisassociateWebACL", ResourceArn=stage),
    ]
    assert [(r.action, r.resource) for r in required(calls, "1")] == [
        ("wafv2:ListWebACLs", "*"),
        ("wafv2:CreateWebACL", "arn:aws:wafv2:us-east-1:1:regional/webacl/taskapp-dev-callers/*"),
        ("wafv2:UpdateWebACL", acl),
        ("wafv2:AssociateWebACL", acl),
        ("wafv2:AssociateWebACL", stage),
        ("apigateway:SetWebACL", stage),
        ("wafv2:GetWebACLForResource", stage),
        ("wafv2:DisassociateWebACL", stage),
        ("apigateway:SetWebACL", stage),
    ]
    load_balancer = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1"
    with pytest.raises(KeyError, match="no IAM mapping"):
        required([call("DisassociateWebACL", ResourceArn=load_balancer)], "1")


def test_monitoring_calls_map_to_the_dashboards_alarms_and_topic_they_name():
    def call(service, operation, **params):
        return {
            "service": service,  # CloudWatch's endpoint prefix is "monitoring"
            "operation": operation,
            "method": "POST",
            "uri": "/",
            "region": "us-east-1",
            "params": params,
        }

    topic = "arn:aws:sns:us-east-1:1:taskapp-dev-alarms"
    calls = [
        call("monitoring", "PutDashboard", DashboardName="taskapp-dev"),
        call("monitoring", "DeleteDashboards", DashboardNames=["taskapp-dev"]),
        call("monitoring", "PutMetricAlarm", AlarmName="taskapp-dev-5xx-rate"),
        call("monitoring", "DeleteAlarms", AlarmNames=["taskapp-dev-a", "taskapp-dev-b"]),
        call("sns", "CreateTopic", Name="taskapp-dev-alarms"),
        call("sns", "Subscribe", TopicArn=topic, Protocol="email"),
    ]
    alarm = "arn:aws:cloudwatch:us-east-1:1:alarm:taskapp-dev-{}".format
    assert [(r.action, r.resource) for r in required(calls, "1")] == [
        ("cloudwatch:PutDashboard", "arn:aws:cloudwatch::1:dashboard/taskapp-dev"),
        ("cloudwatch:DeleteDashboards", "arn:aws:cloudwatch::1:dashboard/taskapp-dev"),
        ("cloudwatch:PutMetricAlarm", alarm("5xx-rate")),
        ("cloudwatch:DeleteAlarms", alarm("a")),
        ("cloudwatch:DeleteAlarms", alarm("b")),
        ("sns:CreateTopic", topic),
        ("sns:Subscribe", topic),
    ]
    # An alarm lookup by prefix names no alarm: IAM's answer for it is not modelled here.
    with pytest.raises(KeyError, match="no IAM mapping"):
        required([call("monitoring", "DescribeAlarms", AlarmNamePrefix="taskapp-")], "1")


def test_ses_calls_map_to_the_identity_they_name():
    def call(operation, method, uri, **params):
        return {
            "service": "email",  # SES v2's endpoint prefix, which the recorder writes
            "operation": operation,
            "method": method,
            "uri": uri,
            "region": "us-east-1",
            "params": params,
        }

    calls = [
        call(
            "GetEmailIdentity",
            "GET",
            "/v2/email/identities/example.com",
            EmailIdentity="example.com",
        ),
        call("CreateEmailIdentity", "POST", "/v2/email/identities", EmailIdentity="r@example.com"),
    ]
    assert [(r.action, r.resource) for r in required(calls, "1")] == [
        ("ses:GetEmailIdentity", "arn:aws:ses:us-east-1:1:identity/example.com"),
        ("ses:CreateEmailIdentity", "arn:aws:ses:us-east-1:1:identity/r@example.com"),
    ]
    with pytest.raises(KeyError, match="no IAM mapping"):
        required([call("ListEmailIdentities", "GET", "/v2/email/identities")], "1")
