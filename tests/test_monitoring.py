"""The stage's safety net on moto: the table's backups and deletion protection (deploy/backups.py),
and the topic, dashboard and alarms (deploy/monitoring.py), read back from the AWS APIs.
tests/test_deploy_cycle.py runs them through `zappa deploy`, `update` and `make undeploy`'s
forget; these pin each case."""

import json
from pathlib import Path

import boto3
import click
import pytest
from moto import mock_aws

from deploy.backups import protect_table
from deploy.monitoring import Stage, ensure_topic, main, monitor_stage, table_operations

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = json.loads((ROOT / "zappa_settings.json").read_text())
ACCOUNT = "123456789012"  # moto's
EMAIL = "oncall@example.com"
APP_METRICS = {
    "TasksCreated",
    "TasksCompleted",
    "TasksDeleted",
    "PreconditionFailed",
    "IdempotentReplays",
    "ChangeFeedCalls",
    "ChangeFeedExpired",
    "RemindersSent",
    "RemindersFailed",
    "RemindersMissed",
    "ColdStarts",
}


def stage_of(name):
    """The stage as the post-deploy hook builds it from zappa_settings.json."""
    settings = SETTINGS["common"] | SETTINGS[name]
    table = settings["aws_environment_variables"]["TABLE_NAME"]
    policy = json.loads((ROOT / settings["attach_policy"]).read_text())
    return Stage(
        name=name,
        function=f"taskapp-{name}",
        table=table,
        region=settings["aws_region"],
        operations=table_operations(policy, table),
    )


DEV = stage_of("dev")
OPERATIONS = ("GetItem", "PutItem", "Query", "UpdateItem")  # what the role may call
ALARMS = {
    f"taskapp-dev-{what}"
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


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws):
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def cloudwatch(aws):
    return boto3.client("cloudwatch", region_name="us-east-1")


@pytest.fixture
def sns(aws):
    return boto3.client("sns", region_name="us-east-1")


@pytest.fixture
def table(dynamodb):
    dynamodb.create_table(
        TableName=DEV.table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DEV.table


def writes(client):
    """The names of the operations `client` sends from now on that are not reads."""
    sent = []
    client.meta.events.register(
        "before-call.*.*", lambda model, **kwargs: sent.append(model.name), unique_id="writes"
    )
    return lambda: [name for name in sent if not name.startswith(("Describe", "List", "Get"))]


def point_in_time_recovery(dynamodb, table):
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    return backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]


def deletion_protection(dynamodb, table):
    return dynamodb.describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"]


# The table's protection


def test_backups_and_deletion_protection_are_on_by_default_and_a_rerun_writes_nothing(
    dynamodb, table, capsys
):
    protect_table(dynamodb, table, {})
    assert point_in_time_recovery(dynamodb, table) == "ENABLED"
    assert deletion_protection(dynamodb, table) is True
    with pytest.raises(dynamodb.exceptions.ClientError, match="DeletionProtectionEnabled"):
        dynamodb.delete_table(TableName=table)

    sent = writes(dynamodb)
    protect_table(dynamodb, table, {"point_in_time_recovery": True, "deletion_protection": True})
    assert sent() == []
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2:] == [
        f"Table {table}: point-in-time recovery on (the last 35 days).",
        f"Table {table}: deletion protection on.",
    ]


def test_settings_turn_either_off(dynamodb, table):
    protect_table(dynamodb, table, {})

    protect_table(dynamodb, table, {"point_in_time_recovery": False})
    assert point_in_time_recovery(dynamodb, table) == "DISABLED"
    assert deletion_protection(dynamodb, table) is True

    protect_table(dynamodb, table, {"point_in_time_recovery": False, "deletion_protection": False})
    assert deletion_protection(dynamodb, table) is False
    dynamodb.delete_table(TableName=table)  # nothing protects it any more


def test_dev_keeps_neither_and_writes_nothing_for_it(dynamodb, table):
    sent = writes(dynamodb)
    protect_table(dynamodb, table, SETTINGS["dev"]["taskapp"])
    assert sent() == []
    assert point_in_time_recovery(dynamodb, table) == "DISABLED"
    assert deletion_protection(dynamodb, table) is False


@pytest.mark.parametrize("value", ["false", 0, None])
def test_a_setting_that_is_not_true_or_false_stops_the_hook(dynamodb, table, value):
    with pytest.raises(click.ClickException, match="deletion_protection must be true or false"):
        protect_table(dynamodb, table, {"deletion_protection": value})
    assert deletion_protection(dynamodb, table) is False


# The topic


def test_the_topic_is_made_once_and_has_no_subscriber_without_alarm_email(sns):
    first = ensure_topic(sns, DEV.topic, None)
    assert ensure_topic(sns, DEV.topic, None) == first
    assert first == f"arn:aws:sns:us-east-1:{ACCOUNT}:taskapp-dev-alarms"
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [first]
    assert sns.list_subscriptions_by_topic(TopicArn=first)["Subscriptions"] == []


def test_alarm_email_is_subscribed_once_and_stays_out_of_the_output(sns, capsys):
    topic = ensure_topic(sns, DEV.topic, EMAIL)
    ensure_topic(sns, DEV.topic, EMAIL)

    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", EMAIL)
    printed = capsys.readouterr().out
    assert "subscribed; AWS emails it a link to confirm" in printed
    assert "already subscribed" in printed
    assert EMAIL not in printed


@pytest.mark.parametrize("email", ["oncall", "a@b@c", "@example.com", ["oncall@example.com"]])
def test_an_alarm_email_that_is_no_address_stops_the_hook(sns, email):
    with pytest.raises(click.ClickException, match="alarm_email must be an email address"):
        ensure_topic(sns, DEV.topic, email)
    assert sns.list_topics()["Topics"] == []


# The dashboard


def test_the_operations_are_those_the_stages_role_may_call():
    for name in ("dev", "staging", "prod"):
        assert stage_of(name).operations == OPERATIONS
    with pytest.raises(click.ClickException, match="grants 0 DynamoDB operations"):
        table_operations({"Statement": []}, "taskapp-dev")


def test_the_dashboard_names_the_stages_function_api_table_and_the_apps_metrics(cloudwatch, sns):
    monitor_stage(cloudwatch, sns, DEV)

    (entry,) = cloudwatch.list_dashboards()["DashboardEntries"]
    assert entry["DashboardName"] == "taskapp-dev"
    body = json.loads(cloudwatch.get_dashboard(DashboardName="taskapp-dev")["DashboardBody"])
    drawn = set()
    for widget in body["widgets"]:
        assert widget["type"] == "metric"
        assert widget["properties"]["region"] == "us-east-1"
        assert widget["properties"]["period"] == 60
        for line in widget["properties"]["metrics"]:
            *names, options = line
            namespace, metric, *dimensions = names
            dimensions = dict(zip(dimensions[::2], dimensions[1::2], strict=True))
            drawn.add((namespace, metric, tuple(sorted(dimensions.items())), options["stat"]))

    api = (("ApiName", "taskapp-dev"), ("Stage", "dev"))
    function = (("FunctionName", "taskapp-dev"),)
    table = (("TableName", "taskapp-dev"),)
    expected = {("AWS/ApiGateway", m, api, "Sum") for m in ("Count", "4XXError", "5XXError")}
    expected |= {("AWS/ApiGateway", "Latency", api, p) for p in ("p50", "p90", "p99")}
    expected |= {("AWS/Lambda", m, function, "Sum") for m in ("Invocations", "Errors", "Throttles")}
    expected |= {("AWS/Lambda", "Duration", function, p) for p in ("p50", "p99")}
    expected.add(("AWS/Lambda", "ConcurrentExecutions", function, "Maximum"))
    expected |= {
        ("AWS/DynamoDB", m, table, "Sum")
        for m in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
    }
    expected |= {
        ("AWS/DynamoDB", m, (("Operation", op), *table), "Sum")
        for m in ("ThrottledRequests", "SystemErrors")
        for op in OPERATIONS
    }
    expected |= {("taskapp", m, (("Stage", "dev"),), "Sum") for m in APP_METRICS}
    assert drawn == expected


# The alarms


def alarms_of(cloudwatch):
    found = cloudwatch.describe_alarms(AlarmNamePrefix="taskapp-")["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in found}


def plain(alarm):
    """(namespace, metric, dimensions, statistic, period) of a one-metric alarm."""
    return (
        alarm["Namespace"],
        alarm["MetricName"],
        {d["Name"]: d["Value"] for d in alarm["Dimensions"]},
        alarm.get("ExtendedStatistic") or alarm["Statistic"],
        alarm["Period"],
    )


def queries(alarm):
    """{id: (namespace, metric, dimensions, stat, period) or the expression} of a math alarm."""
    found = {}
    for query in alarm["Metrics"]:
        if "Expression" in query:
            assert query["ReturnData"] is True
            found[query["Id"]] = query["Expression"]
        else:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            found[query["Id"]] = (
                metric["Namespace"],
                metric["MetricName"],
                dimensions,
                stat["Stat"],
                stat["Period"],
            )
    return found


def test_every_alarm_notifies_the_topic_with_a_sentence_and_no_data_is_no_breach(cloudwatch, sns):
    monitor_stage(cloudwatch, sns, DEV, EMAIL)
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:taskapp-dev-alarms"

    alarms = alarms_of(cloudwatch)
    assert set(alarms) == ALARMS
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]
        assert alarm["ActionsEnabled"] is True
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        # What it means, then where to look first.
        meaning, _, first = alarm["AlarmDescription"].partition(" Look first at ")
        assert meaning.endswith(".") and first.endswith(".")
        assert len(alarm["AlarmDescription"]) <= 1024  # CloudWatch's limit


def test_each_alarm_watches_its_metric_with_its_threshold(cloudwatch, sns):
    monitor_stage(cloudwatch, sns, DEV)
    alarms = alarms_of(cloudwatch)
    api = {"ApiName": "taskapp-dev", "Stage": "dev"}
    function = {"FunctionName": "taskapp-dev"}

    rate = alarms["taskapp-dev-5xx-rate"]
    assert (rate["Threshold"], rate["EvaluationPeriods"], rate["DatapointsToAlarm"]) == (1, 1, 1)
    assert queries(rate) == {
        "errors": ("AWS/ApiGateway", "5XXError", api, "Sum", 300),
        "requests": ("AWS/ApiGateway", "Count", api, "Sum", 300),
        "rate": "100 * errors / requests",
    }

    latency = alarms["taskapp-dev-p99-latency"]
    assert plain(latency) == ("AWS/ApiGateway", "Latency", api, "p99", 60)
    assert (latency["Threshold"], latency["EvaluationPeriods"]) == (1000, 5)
    assert latency["DatapointsToAlarm"] == 5  # over 1 s in each of 5 minutes

    for what, metric in (("function-errors", "Errors"), ("function-throttles", "Throttles")):
        alarm = alarms[f"taskapp-dev-{what}"]
        assert plain(alarm) == ("AWS/Lambda", metric, function, "Sum", 60)
        assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (0, 1)

    for what, metric in (
        ("table-throttles", "ThrottledRequests"),
        ("table-system-errors", "SystemErrors"),
    ):
        alarm = alarms[f"taskapp-dev-{what}"]
        found = queries(alarm)
        assert found.pop("total") == "SUM(METRICS())"
        assert sorted(found.values(), key=lambda q: q[2]["Operation"]) == [
            ("AWS/DynamoDB", metric, {"TableName": "taskapp-dev", "Operation": op}, "Sum", 60)
            for op in OPERATIONS
        ]
        assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (0, 1)

    reminders = alarms["taskapp-dev-reminders-failed"]
    assert plain(reminders) == ("taskapp", "RemindersFailed", {"Stage": "dev"}, "Sum", 60)
    assert (reminders["Threshold"], reminders["EvaluationPeriods"]) == (0, 1)


def test_a_rerun_duplicates_nothing(cloudwatch, sns):
    monitor_stage(cloudwatch, sns, DEV, EMAIL)
    before = alarms_of(cloudwatch)

    monitor_stage(cloudwatch, sns, DEV, EMAIL)

    after = alarms_of(cloudwatch)
    assert set(after) == set(before)
    assert all(after[name]["Threshold"] == before[name]["Threshold"] for name in after)
    assert len(cloudwatch.list_dashboards()["DashboardEntries"]) == 1
    (topic,) = sns.list_topics()["Topics"]
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic["TopicArn"])["Subscriptions"]) == 1


# Undeploy


def test_forget_removes_the_stages_dashboard_alarms_and_topic_only(
    cloudwatch, sns, dynamodb, table
):
    protect_table(dynamodb, table, {})
    monitor_stage(cloudwatch, sns, DEV, EMAIL)
    monitor_stage(cloudwatch, sns, stage_of("staging"))

    main(["forget", "dev"])  # as `make undeploy STAGE=dev` runs it
    main(["forget", "dev"])  # and again: nothing left, nothing to do

    assert [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]] == [
        "taskapp-staging"
    ]
    assert all(name.startswith("taskapp-staging-") for name in alarms_of(cloudwatch))
    assert len(alarms_of(cloudwatch)) == len(ALARMS)
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]] == [
        "taskapp-staging-alarms"
    ]
    assert sns.list_subscriptions()["Subscriptions"] == []
    # The table, its backups and its protection stay.
    assert point_in_time_recovery(dynamodb, table) == "ENABLED"
    assert deletion_protection(dynamodb, table) is True
