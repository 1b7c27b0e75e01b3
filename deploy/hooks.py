"""Zappa callbacks ("callbacks" in zappa_settings.json).

compile_package (zip): keeps only what runs in the package (an allow-list: Zappa's exclude
list would let any other file at the top of the project in, a .env or a key), and adds compiled
bytecode, since Lambda cannot write .pyc files into /var/task and would otherwise compile every
module at each cold start.

settle (settings, when Zappa has read the stage's settings): makes the stage's X-Ray tracing
("xray_tracing", which turns on Lambda's active tracing) whole: the app's TRACING variable and
the role's permission to send traces follow it. Then it stops `zappa deploy` and `zappa update`
before anything is packaged or uploaded when the stage's table was made by an earlier release
with other indexes, with the sentence that says how to migrate it. New code on such a table
would fail every list request; a table that does not exist yet is fine.

post_deploy (post, after `zappa deploy` and `zappa update`): completes a stage with no
console clicks. It makes sure the stage's DynamoDB table exists with its indexes and that SES
has an identity for its reminder sender (deploy/sender.py), and sets what Zappa has no setting
for: API Gateway stage throttling and tracing, the API key's usage plan, the Lambda log group's
retention, the per-caller rate limit (deploy/waf.py), the table's point-in-time recovery and
deletion protection (deploy/backups.py), and the stage's dashboard, alarms and their SNS topic
(deploy/monitoring.py). Every step is idempotent. The stage's figures live under the
"taskapp" key of its settings. The reminders' schedule is Zappa's own ("events"
of each stage), made by `zappa deploy` and `zappa update` before this hook runs.
"""

import compileall
import csv
import io
import os
import py_compile
import sys
import tempfile
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import click
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# What the package holds besides the distributions that requirements.txt names: the app, and
# what Zappa adds at the top (its handler, the settings module and package id it writes, an
# __init__.py), with the zappa package the handler imports and durationpy, which zappa imports.
APP = {"taskapp", "wsgi.py"}
ZAPPA_FILES = {"handler.py", "zappa_settings.py", "package_info.json", "__init__.py"}
ZAPPA_DISTRIBUTIONS = {"zappa", "durationpy"}
REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
# Secrets and editor or OS litter that may lie among the app's own files.
LITTER = (".*", "*.pem", "*.key", "*.swp", "*~")
DOCS_ASSETS_FOLDER = "swagger_ui_bundle/vendor/"
# Of Powertools (7.6 MB of utilities), the parts that `aws_lambda_powertools.metrics` imports:
# what taskapp/metrics.py loads. tests/test_package.py emits metrics from the package.
POWERTOOLS_PARTS = (
    "__init__.py",
    "package_logger.py",
    "py.typed",
    "exceptions/",
    "logging/",
    "metrics/",
    "shared/",
    "tracing/",
    "warnings/",
    "utilities/__init__.py",
    "utilities/jmespath_utils/",
)


# Of Zappa, the modules that its handler imports (not its CLI and deployer, 0.3 MB). Of cffi,
# only its C backend: cryptography's bindings come compiled, so neither cffi's Python package
# nor pycparser, its C parser, is ever imported (0.4 MB).
ZAPPA_PARTS = ("__init__.py", "asgi.py", "middleware.py", "utilities.py", "wsgi.py")
NEVER_IMPORTED = {"cffi", "pycparser"}

RELEASE = "taskapp/RELEASE"
# The X-Ray SDK and its one dependency, shipped only to stages that trace (0.35 MB).
TRACING_DISTRIBUTIONS = {"aws-xray-sdk", "wrapt"}
# What a traced stage's role needs to send its traces (AWS's AWSXRayDaemonWriteAccess, less the
# sampling reads that Lambda's own tracing does for it). X-Ray has no resources to name.
TRACING_PERMISSION = {
    "Sid": "SendTraces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": ["*"],
}


def compile_package(zappa_cli):
    """Keep only what runs in the package, and give it bytecode that Lambda can use.

    Lambda cannot write .pyc files into /var/task, and the .pyc files Zappa copies from the
    virtualenv are timestamp-based, so they never match the sources' times in the zip: every
    module would compile at each cold start. Unchecked hash-based .pyc files load as they are;
    tracebacks name /var/task. They are made by the Python that runs Zappa, whose version is
    the runtime Zappa deploys (no stage sets "runtime").
    """
    package = Path(zappa_cli.zip_path)
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(package) as archive:
            entries = [
                (info, archive.read(info))
                for info in _what_runs(archive, _traced(zappa_cli))
                if "__pycache__/" not in info.filename
            ]
            archive.extractall(folder, [info for info, _ in entries])
        compileall.compile_dir(
            folder,
            ddir="/var/task",
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for info, data in entries:
                archive.writestr(info, data)
            # The release that GET /health names: the commit the package was built from.
            from taskapp.health import git_release

            release = git_release(Path.cwd())
            if release:
                archive.writestr(RELEASE, release + "\n")
            for pyc in sorted(Path(folder).rglob("*.pyc")):
                archive.write(pyc, pyc.relative_to(folder).as_posix())


def _what_runs(archive, traced):
    """The entries of Zappa's zip that the function runs: the app without secrets or litter,
    Zappa's files, each runtime distribution's files (as its RECORD lists them; the X-Ray SDK's
    only if the stage is ``traced``), and of Swagger UI only the assets that /docs serves."""
    from taskapp.pages import DOCS_ASSETS

    distributions = ZAPPA_DISTRIBUTIONS | {
        canonicalize_name(Requirement(line).name)
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    if not traced:
        distributions -= TRACING_DISTRIBUTIONS
    tops = APP | ZAPPA_FILES
    for name in archive.namelist():
        folder, _, file = name.partition("/")
        if file == "RECORD" and canonicalize_name(folder.split("-")[0]) in distributions:
            rows = csv.reader(io.StringIO(archive.read(name).decode()))
            tops |= {row[0].split("/")[0] for row in rows if row}

    def runs(name):
        parts = name.split("/")
        if parts[0] in APP:
            return not any(fnmatch(part, pattern) for part in parts for pattern in LITTER)
        if name.startswith(DOCS_ASSETS_FOLDER):
            return parts[-1] in DOCS_ASSETS
        if parts[0] == "aws_lambda_powertools":
            return name.removeprefix("aws_lambda_powertools/").startswith(POWERTOOLS_PARTS)
        if parts[0] == "zappa":
            return name.removeprefix("zappa/") in ZAPPA_PARTS
        return parts[0] in tops and parts[0] not in NEVER_IMPORTED

    return [info for info in archive.infolist() if runs(info.filename)]


def _traced(zappa_cli):
    traced = zappa_cli.stage_config.get("xray_tracing", False)
    if not isinstance(traced, bool):
        raise click.ClickException(f'"xray_tracing" must be true or false, not {traced!r}.')
    return traced


def settle(zappa_cli):
    """The settings callback: tracing made whole, then the table checked."""
    traced = _traced(zappa_cli)
    # Set either way: Zappa keeps a variable that the settings no longer name.
    zappa_cli.aws_environment_variables["TRACING"] = "true" if traced else "false"
    if traced:
        # Zappa appends these to the role's policy when it puts it (manage_roles).
        core = zappa_cli.zappa
        core.extra_permissions = [*(core.extra_permissions or []), TRACING_PERMISSION]
    check_table(zappa_cli)


def check_table(zappa_cli):
    """Refuse to ship this release onto a table it cannot use; other commands pass."""
    if zappa_cli.command not in ("deploy", "update"):
        return
    table_name = zappa_cli.stage_config["aws_environment_variables"]["TABLE_NAME"]
    from taskapp import store
    from taskapp.models import Task

    with _stage_app(table_name, zappa_cli.zappa.aws_region).app_context():
        if not Task.exists():
            click.echo(f"Table {table_name}: none yet; made after the upload.")
            return
        try:
            store.check_indexes()
        except store.TableMismatch as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Table {table_name}: has this release's indexes.")


def post_deploy(zappa_cli):
    from deploy.backups import protect_table
    from deploy.sender import ensure_sender
    from deploy.waf import set_caller_rate_limit

    stage = zappa_cli.stage_config
    limits = stage["taskapp"]
    core = zappa_cli.zappa
    environment = stage["aws_environment_variables"]
    ensure_table(environment["TABLE_NAME"], core.aws_region)
    protect_table(core.boto_client("dynamodb"), environment["TABLE_NAME"], limits)
    if environment.get("REMINDER_SENDER"):
        ensure_sender(core.boto_client("sesv2"), environment["REMINDER_SENDER"])
    else:
        click.echo("Reminder sender: none (no REMINDER_SENDER), so no reminder is emailed.")
    set_log_retention(core.logs_client, zappa_cli.lambda_name, limits["log_retention_days"])
    api_id = core.get_api_id(zappa_cli.lambda_name)
    if api_id:
        apigateway, stage_name = core.apigateway_client, zappa_cli.api_stage
        set_stage_throttling(
            apigateway,
            api_id,
            stage_name,
            limits["throttle_rate_limit"],
            limits["throttle_burst_limit"],
        )
        set_stage_tracing(apigateway, api_id, stage_name, _traced(zappa_cli))
        if stage.get("api_key_required"):
            set_usage_plan(apigateway, zappa_cli.lambda_name, api_id, stage_name, limits)
        set_caller_rate_limit(
            core.boto_client("wafv2"),
            f"{zappa_cli.lambda_name}-callers",
            f"arn:aws:apigateway:{core.aws_region}::/restapis/{api_id}/stages/{stage_name}",
            limits.get("caller_rate_limit"),
        )
    monitor(zappa_cli)


def monitor(zappa_cli):
    """The stage's topic, dashboard and alarms (deploy/monitoring.py)."""
    from deploy.monitoring import Stage, monitor_stage, read_role_policy, table_operations

    settings, core = zappa_cli.stage_config, zappa_cli.zappa
    table = settings["aws_environment_variables"]["TABLE_NAME"]
    stage = Stage(
        name=zappa_cli.api_stage,
        function=zappa_cli.lambda_name,
        table=table,
        region=core.aws_region,
        operations=table_operations(read_role_policy(settings["attach_policy"]), table),
    )
    monitor_stage(
        core.boto_client("cloudwatch"),
        core.boto_client("sns"),
        stage,
        settings["taskapp"].get("alarm_email"),
    )


def ensure_table(table_name, region):
    """The app's own `flask create-table`, run with the deployer's credentials."""
    from taskapp import store

    with _stage_app(table_name, region).app_context():
        try:
            created = store.ensure_table()
        except store.TableMismatch as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Table {table_name}: {'created' if created else 'already there'}.")


def _stage_app(table_name, region):
    """The app, pointed at the stage's table in the stage's region."""
    from taskapp import create_app
    from taskapp.config import Config

    config = Config()
    config.TABLE_NAME, config.AWS_REGION = table_name, region
    # The stage's table is in AWS, even in a shell where DYNAMODB_ENDPOINT names a local one.
    config.DYNAMODB_ENDPOINT = None
    return create_app(config)


def set_log_retention(logs, function_name, days):
    group = f"/aws/lambda/{function_name}"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(logGroupName=group, retentionInDays=days)
    click.echo(f"Log group {group}: retention {days} days.")


def set_stage_throttling(apigateway, api_id, stage_name, rate, burst):
    apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
        ],
    )
    click.echo(f"Stage {stage_name}: throttled to {rate} requests/s, bursts of {burst}.")


def set_stage_tracing(apigateway, api_id, stage_name, traced):
    """API Gateway's half of the trace, so that a request's trace starts at the API."""
    apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": "/tracingEnabled", "value": "true" if traced else "false"}
        ],
    )
    click.echo(f"Stage {stage_name}: X-Ray tracing {'on' if traced else 'off'}.")


def set_usage_plan(apigateway, name, api_id, stage_name, limits):
    """The stage's usage plan: per-key rate, burst and monthly quota, with Zappa's API key in it.

    `zappa deploy` creates the key (named "<stage>_<api id>") when api_key_required is on.
    """
    throttle = {
        "rateLimit": limits["api_key_rate_limit"],
        "burstLimit": limits["api_key_burst_limit"],
    }
    quota = {"limit": limits["api_key_monthly_quota"], "period": "MONTH"}
    plans = [plan for plan in apigateway.get_usage_plans()["items"] if plan["name"] == name]
    if plans:
        plan = plans[0]
        operations = [
            {"op": "replace", "path": "/throttle/rateLimit", "value": str(throttle["rateLimit"])},
            {"op": "replace", "path": "/throttle/burstLimit", "value": str(throttle["burstLimit"])},
            {"op": "replace", "path": "/quota/limit", "value": str(quota["limit"])},
            {"op": "replace", "path": "/quota/period", "value": "MONTH"},
        ]
        stages = {(s["apiId"], s["stage"]) for s in plan.get("apiStages", [])}
        if (api_id, stage_name) not in stages:
            operations.append(
                {"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage_name}"}
            )
        apigateway.update_usage_plan(usagePlanId=plan["id"], patchOperations=operations)
    else:
        plan = apigateway.create_usage_plan(
            name=name,
            description=f"API keys of {name}",
            apiStages=[{"apiId": api_id, "stage": stage_name}],
            throttle=throttle,
            quota=quota,
        )
    keys = apigateway.get_api_keys(nameQuery=f"{stage_name}_{api_id}")["items"]
    members = {key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]}
    for key in keys:
        if key["id"] not in members:
            apigateway.create_usage_plan_key(
                usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY"
            )
    click.echo(
        f"Usage plan {name}: {throttle['rateLimit']} requests/s, bursts of "
        f"{throttle['burstLimit']}, {quota['limit']} a month, {len(keys)} API key(s)."
    )
