"""What a team running a stage watches: a dashboard, alarms and the topic they notify.

The post-deploy hook gives each stage, named after its function (`taskapp-<stage>`):
- an SNS topic `taskapp-<stage>-alarms`, with the stage's "alarm_email" (in its "taskapp"
  settings, optional) subscribed once: AWS emails that address a link to confirm;
- a CloudWatch dashboard `taskapp-<stage>`: the API's requests, 4XX, 5XX and latency, the
  function's invocations, errors, throttles, duration and concurrency, the table's consumed
  units, throttled requests and system errors, and the app's own metrics;
- alarms `taskapp-<stage>-<what>` that notify the topic when they fire and when they clear,
  each with a sentence that says what it means and where to look first. No data is not a
  breach: a quiet stage stays OK.
Every call writes the whole definition under a fixed name, so a rerun replaces, never adds.
Zappa runs no hook on undeploy: `python -m deploy.monitoring forget STAGE` (`make undeploy`)
deletes the three kinds of thing, and nothing else.

The graphs are in deploy/dashboard.py, the alarms and their sentences in deploy/alarms.py.
DynamoDB publishes ThrottledRequests and SystemErrors per table and operation only (no series
for the table alone), so both read one series per operation that the stage's role may call
(its policy file, "attach_policy"), and the alarms add them up.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import click
from botocore.exceptions import ClientError

from deploy.alarms import ALARMS, MOST_METRICS_IN_AN_ALARM, alarms
from deploy.dashboard import dashboard

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Stage:
    """The names a stage's metrics are published under."""

    name: str  # the API Gateway stage, and the app's Stage dimension
    function: str  # the Lambda function; Zappa names the REST API the same
    table: str
    region: str
    operations: tuple  # the DynamoDB operations the function may call on its table

    @property
    def api(self):
        return self.function

    @property
    def topic(self):
        return f"{self.function}-alarms"


def table_operations(role_policy, table):
    """The DynamoDB operations the role's policy grants on `table` (or its indexes)."""
    operations = set()
    for statement in role_policy["Statement"]:
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if any(r.endswith((f":table/{table}", f":table/{table}/index/*")) for r in resources):
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            operations |= {a.split(":")[1] for a in actions if a.startswith("dynamodb:")}
    if not operations or len(operations) >= MOST_METRICS_IN_AN_ALARM:
        raise click.ClickException(
            f"The role's policy grants {len(operations)} DynamoDB operations on {table}; the "
            f"table's alarms need 1 to {MOST_METRICS_IN_AN_ALARM - 1}."
        )
    return tuple(sorted(operations))


def read_role_policy(path):
    """The stage's "attach_policy", named from the project's root as Zappa names it."""
    return json.loads((ROOT / path).read_text())


def monitor_stage(cloudwatch, sns, stage, email=None):
    """Make or update the stage's topic, dashboard and alarms."""
    topic = ensure_topic(sns, stage.topic, email)
    cloudwatch.put_dashboard(
        DashboardName=stage.function, DashboardBody=json.dumps(dashboard(stage))
    )
    click.echo(f"Dashboard {stage.function}: API, function, table and app metrics.")
    for alarm in alarms(stage, topic):
        cloudwatch.put_metric_alarm(**alarm)
    click.echo(f"Alarms {stage.function}-*: {len(ALARMS)}, to topic {stage.topic}.")


def ensure_topic(sns, name, email):
    """The topic's ARN (CreateTopic answers the existing one), with `email` subscribed once."""
    if email is not None and (
        not isinstance(email, str) or email.count("@") != 1 or not all(email.split("@"))
    ):
        raise click.ClickException(f"alarm_email must be an email address, not {email!r}.")
    topic = sns.create_topic(Name=name)["TopicArn"]
    if email is None:
        click.echo(f"Topic {name}: no subscriber set (alarm_email); subscribe one in SNS.")
        return topic
    if any(
        subscription["Protocol"] == "email" and subscription["Endpoint"] == email
        for subscription in _subscriptions(sns, topic)
    ):
        # Pending or confirmed: a second Subscribe would only send another confirmation email.
        click.echo(f"Topic {name}: alarm_email already subscribed.")
        return topic
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    # The address itself stays out of the deploy's output, which CI may show to many.
    click.echo(f"Topic {name}: alarm_email subscribed; AWS emails it a link to confirm.")
    return topic


def _subscriptions(sns, topic):
    request = {"TopicArn": topic}
    while True:
        page = sns.list_subscriptions_by_topic(**request)
        yield from page["Subscriptions"]
        if not page.get("NextToken"):
            return
        request["NextToken"] = page["NextToken"]


def forget_monitoring(cloudwatch, sns, function, topic_arn):
    """Delete the dashboard, alarms and topic of an undeployed stage; what is gone is skipped."""
    try:
        cloudwatch.delete_dashboards(DashboardNames=[function])
        click.echo(f"Dashboard {function}: removed.")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFound":
            raise
        click.echo(f"Dashboard {function}: none.")
    names = [f"{function}-{what}" for what in ALARMS]
    found = [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]]
    if found:
        cloudwatch.delete_alarms(AlarmNames=found)
    click.echo(f"Alarms {function}-*: {len(found)} removed.")
    # DeleteTopic of a topic that is not there succeeds; it takes the subscriptions with it.
    sns.delete_topic(TopicArn=topic_arn)
    click.echo(f"Topic {topic_arn.rsplit(':', 1)[1]}: removed.")


def main(argv=None):
    """`python -m deploy.monitoring forget STAGE`, which `make undeploy` runs after Zappa's."""
    import argparse

    import boto3

    parser = argparse.ArgumentParser(prog="python -m deploy.monitoring")
    parser.add_argument("command", choices=["forget"])
    parser.add_argument("stage")
    stage = parser.parse_args(argv).stage
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    merged = settings.get(settings[stage].get("extends"), {}) | settings[stage]
    region, function = merged["aws_region"], f"{merged['project_name']}-{stage}"
    session = boto3.session.Session(region_name=region)
    caller = session.client("sts").get_caller_identity()["Arn"]
    partition, account = caller.split(":")[1], caller.split(":")[4]
    topic = f"arn:{partition}:sns:{region}:{account}:{function}-alarms"
    forget_monitoring(session.client("cloudwatch"), session.client("sns"), function, topic)


if __name__ == "__main__":
    main()
