"""The stage's CloudWatch dashboard: what the team reads the stage's health from.

Twelve graphs, two a row, each of one-minute points: the API's requests, 4XX and 5XX answers
and latency percentiles; the function's invocations, errors, throttles, duration percentiles
and concurrency; the table's consumed units, and its throttled requests and system errors per
operation; and the app's own metrics. Those are the contract the app emits as CloudWatch
embedded metric format: namespace `taskapp`, dimension set ["Stage"] holding the stage's name
(a metric emitted only under other dimension sets, ["Stage", "Operation"] say, is another
series, which neither the graphs nor the alarms read), each a Count, summed per period:
TasksCreated, TasksCompleted, TasksDeleted, PreconditionFailed, IdempotentReplays,
ChangeFeedCalls, ChangeFeedExpired, RemindersSent, RemindersFailed, RemindersMissed, ColdStarts.
"""

NAMESPACE = "taskapp"
MINUTE = 60


def dashboard(stage):
    """The dashboard's body: twelve graphs, two a row."""
    api = ["AWS/ApiGateway", "ApiName", stage.api, "Stage", stage.name]
    function = ["AWS/Lambda", "FunctionName", stage.function]
    table = ["AWS/DynamoDB", "TableName", stage.table]

    def metric(namespace, *dimensions, name, stat="Sum", label=None):
        return [namespace, name, *dimensions, {"stat": stat, "label": label or name}]

    def per_operation(name):
        return [
            metric(*table, "Operation", op, name=name, label=f"{name} {op}")
            for op in stage.operations
        ]

    def app(*names):
        return [metric(NAMESPACE, "Stage", stage.name, name=name) for name in names]

    graphs = [
        (
            "API requests and errors",
            [metric(*api, name=n) for n in ("Count", "4XXError", "5XXError")],
        ),
        ("API latency (ms)", [metric(*api, name="Latency", stat=p) for p in ("p50", "p90", "p99")]),
        (
            "Function invocations, errors, throttles",
            [metric(*function, name=n) for n in ("Invocations", "Errors", "Throttles")],
        ),
        (
            "Function duration (ms)",
            [metric(*function, name="Duration", stat=p) for p in ("p50", "p99")],
        ),
        (
            "Function concurrent executions",
            [metric(*function, name="ConcurrentExecutions", stat="Maximum")],
        ),
        (
            "Table consumed units",
            [
                metric(*table, name=n)
                for n in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
            ],
        ),
        ("Table throttled requests", per_operation("ThrottledRequests")),
        ("Table system errors", per_operation("SystemErrors")),
        ("Tasks", app("TasksCreated", "TasksCompleted", "TasksDeleted")),
        (
            "Preconditions, replays, cold starts",
            app("PreconditionFailed", "IdempotentReplays", "ColdStarts"),
        ),
        ("Change feed", app("ChangeFeedCalls", "ChangeFeedExpired")),
        ("Reminders", app("RemindersSent", "RemindersFailed", "RemindersMissed")),
    ]
    return {
        "widgets": [
            {
                "type": "metric",
                "x": 12 * (index % 2),
                "y": 6 * (index // 2),
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": stage.region,
                    "view": "timeSeries",
                    "stacked": False,
                    "period": MINUTE,
                    "metrics": metrics,
                },
            }
            for index, (title, metrics) in enumerate(graphs)
        ]
    }
