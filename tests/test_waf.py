"""The per-caller rate limit (deploy/waf.py) on moto: the web ACL the post-deploy hook keeps on
a stage, read back from the WAF and API Gateway APIs. tests/test_deploy_cycle.py runs it through
`zappa deploy` and `zappa update`; these pin each case of it."""

import json

import boto3
import click
import pytest
from moto import mock_aws

from deploy.waf import main, set_caller_rate_limit

NAME = "taskapp-dev-callers"


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def wafv2(aws):
    return boto3.client("wafv2", region_name="us-east-1")


@pytest.fixture
def apigateway(aws):
    return boto3.client("apigateway", region_name="us-east-1")


@pytest.fixture
def stage(apigateway):
    """An API Gateway stage's ARN, as the hook builds it."""
    api = apigateway.create_rest_api(name="taskapp-dev")
    root = {"restApiId": api["id"], "resourceId": api["rootResourceId"], "httpMethod": "GET"}
    apigateway.put_method(**root, authorizationType="NONE")
    apigateway.put_integration(**root, type="MOCK")
    apigateway.create_deployment(restApiId=api["id"], stageName="dev")
    return f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}/stages/dev"


def acls(wafv2):
    return wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]


def web_acl_of(wafv2, stage):
    return wafv2.get_web_acl_for_resource(ResourceArn=stage).get("WebACL")


def stage_web_acl(apigateway, stage):
    """The web ACL that API Gateway says protects the stage (GetStage's webAclArn), or None."""
    _, api_id, _, stage_name = stage.rsplit("/", 3)
    return apigateway.get_stage(restApiId=api_id, stageName=stage_name).get("webAclArn")


def test_a_limit_puts_a_rate_based_rule_per_authorization_header_on_the_stage(
    wafv2, apigateway, stage
):
    set_caller_rate_limit(wafv2, NAME, stage, 600)

    acl = web_acl_of(wafv2, stage)
    assert acl["Name"] == NAME
    assert acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == 600
    assert statement["EvaluationWindowSec"] == 300
    assert statement["AggregateKeyType"] == "CUSTOM_KEYS"
    (key,) = statement["CustomKeys"]
    assert key["Header"]["Name"] == "authorization"
    assert [t["Type"] for t in key["Header"]["TextTransformations"]] == ["LOWERCASE"]
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert set(json.loads(body["Content"])) == {"error"}  # the API's error shape (SPEC 3)
    assert stage_web_acl(apigateway, stage) == acl["ARN"]


def test_a_changed_limit_updates_the_same_acl_and_a_rerun_changes_nothing(wafv2, stage):
    set_caller_rate_limit(wafv2, NAME, stage, 600)
    (first,) = acls(wafv2)

    set_caller_rate_limit(wafv2, NAME, stage, 1500)
    set_caller_rate_limit(wafv2, NAME, stage, 1500)

    (acl,) = acls(wafv2)
    assert acl["Id"] == first["Id"]
    (rule,) = web_acl_of(wafv2, stage)["Rules"]
    assert rule["Statement"]["RateBasedStatement"]["Limit"] == 1500


def test_no_limit_takes_the_acl_off_the_stage_and_deletes_it(wafv2, apigateway, stage):
    set_caller_rate_limit(wafv2, NAME, stage, 600)

    set_caller_rate_limit(wafv2, NAME, stage, None)
    set_caller_rate_limit(wafv2, NAME, stage, None)  # nothing left to remove: no error

    assert stage_web_acl(apigateway, stage) is None
    assert web_acl_of(wafv2, stage) is None
    assert acls(wafv2) == []


def test_an_acl_left_behind_is_taken_up_again(wafv2, apigateway, stage):
    """`zappa undeploy` deletes the stage but not its ACL; the next deploy finds it by name."""
    set_caller_rate_limit(wafv2, NAME, stage, 600)
    wafv2.disassociate_web_acl(ResourceArn=stage)

    set_caller_rate_limit(wafv2, NAME, stage, 700)

    (acl,) = acls(wafv2)
    assert stage_web_acl(apigateway, stage) == acl["ARN"]


def test_another_acl_on_the_stage_is_left_alone(wafv2, apigateway, stage):
    other = wafv2.create_web_acl(
        Name="shared-protections",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "shared",
        },
    )["Summary"]
    wafv2.associate_web_acl(WebACLArn=other["ARN"], ResourceArn=stage)

    with pytest.raises(click.ClickException, match="already has web ACL"):
        set_caller_rate_limit(wafv2, NAME, stage, 600)
    set_caller_rate_limit(wafv2, NAME, stage, None)

    assert [acl["Name"] for acl in acls(wafv2)] == ["shared-protections"]
    assert stage_web_acl(apigateway, stage) == other["ARN"]


@pytest.mark.parametrize("limit", [9, 0, "600", 600.0, True])
def test_a_limit_waf_would_refuse_stops_the_hook_with_a_sentence(wafv2, stage, limit):
    with pytest.raises(click.ClickException, match="caller_rate_limit must be a whole number"):
        set_caller_rate_limit(wafv2, NAME, stage, limit)
    assert acls(wafv2) == []


def test_undeploy_deletes_the_acl_the_stage_left(wafv2, apigateway, stage):
    set_caller_rate_limit(wafv2, NAME, stage, 100)
    apigateway.delete_rest_api(restApiId=stage.split("/")[-3])
    wafv2.disassociate_web_acl(ResourceArn=stage)  # what deleting the API does in AWS

    main(["forget", "dev"])  # as `make undeploy STAGE=dev` runs it
    main(["forget", "dev"])  # and again: nothing left, nothing to do

    assert wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] == []
