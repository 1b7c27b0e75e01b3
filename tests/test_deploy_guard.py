"""The deploy guard: the real `zappa deploy` and `zappa update` stop before anything is packaged
or uploaded when the stage's table was made by an earlier release, and say how to migrate it.

A stage whose table does not exist yet deploys as before (tests/test_deploy_cycle.py).
"""

import io
import sys
import zipfile

import boto3
import click
import pytest
from moto import mock_aws

from deploy import hooks
from tests.test_deploy_cycle import FUNCTION, STAGE, STAGE_SETTINGS, client
from tests.test_migrate import create_old_table
from tools.zappa_offline import MotoServer, Zappa

TABLE = STAGE_SETTINGS["aws_environment_variables"]["TABLE_NAME"]


@pytest.fixture
def aws(tmp_path):
    """moto's server, holding the stage's table as the previous release made it."""
    with MotoServer(log=tmp_path / "moto.log") as server:
        create_old_table(client(server, "dynamodb"), TABLE)
        yield server


@pytest.fixture
def zappa(aws, tmp_path):
    return Zappa(aws, tmp_path, STAGE)


def refused(zappa, command):
    """Run a zappa command that must fail; returns what it printed."""
    with pytest.raises(RuntimeError) as failure:
        zappa(command)
    output = str(failure.value)
    assert f"Table {TABLE} lacks the indexes changes-index, due-index" in output
    assert f"migrate-table --from {TABLE} --to {TABLE}-2" in output
    return output


def test_deploy_stops_before_anything_is_made(aws, zappa):
    refused(zappa, "deploy")

    assert client(aws, "lambda").list_functions()["Functions"] == []
    assert client(aws, "s3").list_buckets()["Buckets"] == []
    assert client(aws, "iam").list_roles()["Roles"] == []
    assert client(aws, "cloudformation").list_stacks()["StackSummaries"] == []


def test_update_stops_before_the_code_is_uploaded(aws, zappa):
    lambda_ = client(aws, "lambda")
    deployed = deploy_previous_release(aws)

    refused(zappa, "update")

    function = lambda_.get_function(FunctionName=FUNCTION)["Configuration"]
    assert function["CodeSha256"] == deployed["CodeSha256"]
    assert function["LastModified"] == deployed["LastModified"]
    versions = lambda_.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    assert [version["Version"] for version in versions] == ["$LATEST", "1"]
    assert client(aws, "s3").list_buckets()["Buckets"] == []


def test_the_post_deploy_hook_stops_on_such_a_table_too():
    """Without the settings check (an older zappa_settings.json), the post hook still refuses."""
    with mock_aws():
        create_old_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)

        with pytest.raises(click.ClickException) as failure:
            hooks.ensure_table(TABLE, "us-east-1")

    assert f"migrate-table --from {TABLE} --to {TABLE}-2" in failure.value.message


def deploy_previous_release(aws):
    """The stage's function as an earlier release left it (moto runs no code: any zip will do)."""
    iam = client(aws, "iam")
    role = iam.create_role(
        RoleName=f"{FUNCTION}-ZappaLambdaExecutionRole",
        AssumeRolePolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
            '"sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}'
        ),
    )["Role"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    return client(aws, "lambda").create_function(
        FunctionName=FUNCTION,
        Runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
        Role=role["Arn"],
        Handler="handler.lambda_handler",
        Code={"ZipFile": package.getvalue()},
        Publish=True,
    )
