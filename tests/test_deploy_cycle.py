"""The real `zappa` CLI, deploy to undeploy, against moto's server on loopback.

Everything asserted is read back from the AWS APIs, as a person would check the console.
"""

import json
import sys
import time

import boto3
import pytest

from tools.dynamodb_local import ROOT
from tools.zappa_offline import MotoServer, Zappa

STAGE = "dev"
FUNCTION = f"taskapp-{STAGE}"
SETTINGS = json.loads((ROOT / "zappa_settings.json").read_text())
STAGE_SETTINGS = SETTINGS["common"] | SETTINGS[STAGE]


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with MotoServer(log=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def zappa(aws, tmp_path_factory):
    return Zappa(aws, tmp_path_factory.mktemp("settings"), STAGE)


def client(aws, service):
    return boto3.client(
        service,
        endpoint_url=aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_deploy_status_update_tail_undeploy(aws, zappa):
    zappa("deploy")
    check_stage(aws)

    status, _ = zappa("status")
    assert FUNCTION in status

    lambda_ = client(aws, "lambda")
    versions = len(lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"])
    zappa("update")
    assert len(lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"]) > versions
    check_stage(aws)  # the post-deploy hook ran again, idempotently

    line = json.dumps({"method": "GET", "path": "/tasks", "status": 200, "latencyMs": 3.1})
    put_log_line(aws, line)
    tail, _ = zappa("tail", "--since", "5m", "--disable-keep-open", "--no-color")
    assert '"path": "/tasks"' in tail

    zappa("undeploy", "--yes", "--remove-logs")
    with pytest.raises(lambda_.exceptions.ResourceNotFoundException):
        lambda_.get_function(FunctionName=FUNCTION)
    # The table and its tasks outlive the code: undeploying never deletes data.
    assert client(aws, "dynamodb").describe_table(TableName="taskapp-dev")["Table"]


def check_stage(aws):
    """What a deploy must leave behind, read back from the AWS APIs."""
    environment = STAGE_SETTINGS["aws_environment_variables"]
    limits = STAGE_SETTINGS["taskapp"]

    function = client(aws, "lambda").get_function_configuration(FunctionName=FUNCTION)
    assert function["Runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert function["MemorySize"] == STAGE_SETTINGS["memory_size"]
    assert function["Timeout"] == STAGE_SETTINGS["timeout_seconds"]
    assert function["Handler"] == "handler.lambda_handler"
    assert function["Environment"]["Variables"] == environment

    iam = client(aws, "iam")
    role = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    policy = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    expected = json.loads((ROOT / STAGE_SETTINGS["attach_policy"]).read_text())
    assert policy == expected
    assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]

    apigateway = client(aws, "apigateway")
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == FUNCTION]
    # moto's CloudFormation drops EndpointConfiguration: read what Zappa's stack asked for.
    template = client(aws, "cloudformation").get_template(StackName=FUNCTION)["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
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
    ttl = client(aws, "dynamodb").describe_time_to_live(TableName=environment["TABLE_NAME"])
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def put_log_line(aws, line):
    """A line as the function writes it (moto runs no code, so the test writes it)."""
    logs = client(aws, "logs")
    group, stream = f"/aws/lambda/{FUNCTION}", "2026/11/25/[$LATEST]test"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    # zappa tail asks for events up to the current whole second.
    timestamp = int(time.time() * 1000) - 5000
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": timestamp, "message": line}],
    )
