"""The app's own metrics, as CloudWatch embedded metric format (EMF) lines in its log.

Powertools for AWS Lambda's Metrics writes them: one JSON line on stdout, which CloudWatch Logs
turns into metrics in the namespace ``taskapp`` with no PutMetricData call (and no permission)
in the request path. Each metric has two dimension sets, [Stage] (what the stage's dashboard and
alarms read) and [Stage, Operation]. On by default in a deployed stage (METRICS), off locally.

What is counted, from the answer a request got: TasksCreated, IdempotentReplays (a create
answered from its Idempotency-Key's record), TasksCompleted (an update that sets status
completed), TasksDeleted, PreconditionFailed (412), ChangeFeedCalls and ChangeFeedExpired (410);
ColdStarts once per process; the reminder scheduler's RemindersSent, RemindersFailed and
RemindersMissed. Only counts and those names: never a token, an address or a task's content.
Lambda serves one request at a time per process, so one provider serves them all.
"""

from flask import current_app, request

NAMESPACE = "taskapp"
# The operationId of each view, the Operation dimension.
OPERATIONS = {
    "tasks.create_task": "createTask",
    "tasks.list_tasks": "listTasks",
    "tasks.list_changes": "listChanges",
    "tasks.get_task": "getTask",
    "tasks.put_task": "putTask",
    "tasks.patch_task": "patchTask",
    "tasks.delete_task": "deleteTask",
}
_cold = True


def init_app(app):
    if not app.config["METRICS"]:
        return
    # The provider behind Powertools' Metrics, whose state is the app's own (Metrics shares its
    # state between all instances of a process).
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
        AmazonCloudWatchEMFProvider,
    )

    app.extensions["taskapp.metrics"] = AmazonCloudWatchEMFProvider(
        namespace=NAMESPACE, default_dimensions={"Stage": app.config["STAGE"]}
    )
    app.after_request(_count_request)


def emit(app, operation: str, counts: dict) -> None:
    """Write ``counts`` (metric name: count, zeros left out) as one EMF line, with a cold start
    counted on the first of the process."""
    global _cold
    metrics = app.extensions.get("taskapp.metrics")
    if metrics is None:
        return
    if _cold:
        counts = counts | {"ColdStarts": 1}
        _cold = False
    counts = {name: count for name, count in counts.items() if count}
    if not counts:
        return
    metrics.add_dimensions(Operation=operation)
    for name, count in counts.items():
        metrics.add_metric(name=name, unit="Count", value=count)
    metrics.flush_metrics()


def _count_request(response):
    operation = OPERATIONS.get(request.endpoint)
    if operation is None:
        return response
    emit(current_app._get_current_object(), operation, _counts(operation, response))
    return response


def _counts(operation: str, response) -> dict:
    status = response.status_code
    if operation == "createTask" and status == 201:
        replayed = "Idempotent-Replayed" in response.headers
        return {"IdempotentReplays" if replayed else "TasksCreated": 1}
    if status == 412:
        return {"PreconditionFailed": 1}
    if operation in ("putTask", "patchTask") and status == 200:
        body = request.get_json(silent=True)
        completed = isinstance(body, dict) and body.get("status") == "completed"
        return {"TasksCompleted": 1} if completed else {}
    if operation == "deleteTask" and status == 200:
        return {"TasksDeleted": 1}
    if operation == "listChanges":
        return {"ChangeFeedCalls": 1, "ChangeFeedExpired": int(status == 410)}
    return {}
