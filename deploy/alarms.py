"""The stage's alarms: each says what broke and where to look first, and notifies the topic.

Each is `taskapp-<stage>-<what>`, notifies the stage's topic when it fires and when it clears,
and treats no data as not breaching, so that a quiet stage stays OK. PutMetricAlarm replaces an
alarm of the same name, so a rerun changes nothing.
"""

from deploy.dashboard import MINUTE, NAMESPACE

# The alarms' names after "<function>-"; forget deletes these and only these.
ALARMS = (
    "5xx-rate",
    "p99-latency",
    "function-errors",
    "function-throttles",
    "table-throttles",
    "table-system-errors",
    "reminders-failed",
)
MOST_METRICS_IN_AN_ALARM = 10  # CloudWatch's limit, the expression included


def alarms(stage, topic):
    """PutMetricAlarm's arguments for each of the stage's alarms, in the order of ALARMS."""
    api = [{"Name": "ApiName", "Value": stage.api}, {"Name": "Stage", "Value": stage.name}]
    function = [{"Name": "FunctionName", "Value": stage.function}]
    dashboard = f"dashboard {stage.function}"
    tail = f"`make tail STAGE={stage.name}`"

    def alarm(what, description, threshold, periods=1, **metric):
        return {
            "AlarmName": f"{stage.function}-{what}",
            "AlarmDescription": description,
            "ActionsEnabled": True,
            "AlarmActions": [topic],
            "OKActions": [topic],
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": threshold,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "TreatMissingData": "notBreaching",
            **metric,
        }

    def count(namespace, name, dimensions):
        return {
            "Namespace": namespace,
            "MetricName": name,
            "Dimensions": dimensions,
            "Statistic": "Sum",
            "Period": MINUTE,
        }

    def stat(id_, namespace, name, dimensions, period):
        metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions}
        return {
            "Id": id_,
            "MetricStat": {"Metric": metric, "Period": period, "Stat": "Sum"},
            "ReturnData": False,
        }

    def table_sum(name):
        """The table's `name` summed over the operations the function calls."""
        metrics = [
            stat(
                f"m{index}",
                "AWS/DynamoDB",
                name,
                [{"Name": "TableName", "Value": stage.table}, {"Name": "Operation", "Value": op}],
                MINUTE,
            )
            for index, op in enumerate(stage.operations, 1)
        ]
        total = {"Id": "total", "Expression": "SUM(METRICS())", "Label": f"{name}, all operations"}
        return {"Metrics": [*metrics, {**total, "ReturnData": True}]}

    five_minutes = 5 * MINUTE
    errors_rate = {
        "Id": "rate",
        "Expression": "100 * errors / requests",
        "Label": "5XX answers, % of requests",
        "ReturnData": True,
    }
    return [
        alarm(
            "5xx-rate",
            f"More than 1% of the requests to API {stage.api} (stage {stage.name}) answered 5XX "
            f"over 5 minutes: callers see failures. Look first at the function's errors on "
            f"{dashboard}, then at the error lines of its log ({tail}).",
            1,
            Metrics=[
                stat("errors", "AWS/ApiGateway", "5XXError", api, five_minutes),
                stat("requests", "AWS/ApiGateway", "Count", api, five_minutes),
                errors_rate,
            ],
        ),
        alarm(
            "p99-latency",
            f"The slowest 1% of requests to API {stage.api} (stage {stage.name}) took over 1 "
            f"second in each of 5 minutes running: callers wait. Look first at the function's "
            f"duration, cold starts and the table's throttles on {dashboard}.",
            1000,
            periods=5,
            Namespace="AWS/ApiGateway",
            MetricName="Latency",
            Dimensions=api,
            ExtendedStatistic="p99",
            Period=MINUTE,
        ),
        alarm(
            "function-errors",
            f"Function {stage.function} failed an invocation (an unhandled exception, a timeout "
            f"or memory running out): a request answered 5XX or a reminder run stopped. Look "
            f"first at its log for the traceback or 'Task timed out' ({tail}).",
            0,
            **count("AWS/Lambda", "Errors", function),
        ),
        alarm(
            "function-throttles",
            f"Lambda refused to run function {stage.function} because a concurrency limit was "
            f"reached: those requests failed. Look first at concurrent executions on "
            f"{dashboard}, then at the account's Lambda concurrency quota in Service Quotas.",
            0,
            **count("AWS/Lambda", "Throttles", function),
        ),
        alarm(
            "table-throttles",
            f"DynamoDB throttled requests to table {stage.table}: those reads or writes failed "
            f"after the SDK's retries. Look first at throttled requests per operation and "
            f"consumed units on {dashboard} (a sudden peak, or one hot task list).",
            0,
            **table_sum("ThrottledRequests"),
        ),
        alarm(
            "table-system-errors",
            f"DynamoDB answered requests to table {stage.table} with an internal error: the "
            f"fault is on AWS's side. Look first at the AWS Health Dashboard for DynamoDB in "
            f"{stage.region}; if it lasts, open a support case.",
            0,
            **table_sum("SystemErrors"),
        ),
        alarm(
            "reminders-failed",
            f"Reminder emails of stage {stage.name} failed to send (the app's RemindersFailed): "
            f"users miss reminders. Look first at the reminder run's log lines ({tail}), then at "
            f"the SES identity of the stage's REMINDER_SENDER (verified, sending not paused).",
            0,
            **count(NAMESPACE, "RemindersFailed", [{"Name": "Stage", "Value": stage.name}]),
        ),
    ]
