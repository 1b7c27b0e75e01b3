"""Runs the Lambda handler from an unpacked package in a bare interpreter, as Lambda does.

    python -S tools/lambda_runner.py PACKAGE_DIR RUNTIME_DIR EVENTS.json RESULTS.json

PACKAGE_DIR is the unzipped `make package` output (Lambda's /var/task); RUNTIME_DIR holds
what the Lambda runtime adds (boto3, botocore and their dependencies). With -S the
interpreter sees nothing else. RESULTS.json gets each event's proxy response with its time in
ms, the wall time from interpreter start to the first answer, and the top-level names of the
modules imported in all. "{taskId}" in an event's path and path parameters stands for the task
the latest response carried, so calls can chain. The handler is Zappa's, or the one that
_HANDLER names as Lambda's handler setting does, "module.function" (benchmarks/bench_peers.py
runs a Chalice app as "app.app"). With PROFILE set to a path, the handler's calls after the
first (the warm ones) run under cProfile and their statistics are written there
(benchmarks/profile_lambda.py reads them).
"""

import cProfile
import importlib
import json
import os
import sys
import sysconfig
import time
import uuid
import zipfile
from pathlib import Path

# What the Lambda Python runtime provides besides the package (Zappa leaves them out).
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


class LambdaContext:
    """The parts of Lambda's context object that Zappa and the app read."""

    function_name = "taskapp-dev"
    memory_limit_in_bytes = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:taskapp-dev"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis():
        return 15_000


def unpack(package, folder):
    """Lay out a package as Lambda does: the zip as /var/task, the runtime's libraries beside it.

    The runtime's libraries are linked from this interpreter's site-packages.
    """
    task, runtime = Path(folder) / "task", Path(folder) / "runtime"
    zipfile.ZipFile(package).extractall(task)
    runtime.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for name in RUNTIME_LIBRARIES:
        (runtime / name).symlink_to(site / name)
    return task, runtime


def main(package_dir, runtime_dir, events_path, results_path, started_ns):
    # Drop this script's folder: only the package, the runtime's libraries and the stdlib remain.
    sys.path[:] = [package_dir, runtime_dir, *sys.path[1:]]
    os.chdir(package_dir)
    module, _, function = os.environ.get("_HANDLER", "handler.lambda_handler").rpartition(".")
    handler = getattr(importlib.import_module(module), function)

    with open(events_path) as events:
        calls = json.load(events)
    results, first_answer_ms, task_id = [], None, ""
    profile = cProfile.Profile() if os.environ.get("PROFILE") else None
    for number, event in enumerate(calls):
        if "path" in event:  # an API Gateway event (a scheduled one has none)
            event["path"] = event["path"].replace("{taskId}", task_id)
            parameters = event.get("pathParameters") or {}
            for name, value in parameters.items():
                parameters[name] = value.replace("{taskId}", task_id)
        start = time.perf_counter()
        if profile is not None and number > 0:
            response = profile.runcall(handler, event, LambdaContext())
        else:
            response = handler(event, LambdaContext())
        results.append({"response": response, "ms": (time.perf_counter() - start) * 1000})
        task_id = _task_id(response) or task_id
        if first_answer_ms is None:
            first_answer_ms = (time.time_ns() - started_ns) / 1e6
    if profile is not None:
        profile.dump_stats(os.environ["PROFILE"])
    origins = {name: getattr(sys.modules.get(name), "__file__", None) for name in MODULES}
    imported = sorted({name.split(".")[0] for name in sys.modules})
    with open(results_path, "w") as out:
        json.dump(
            {
                "results": results,
                "first_answer_ms": first_answer_ms,
                "origins": origins,
                "imported": imported,
            },
            out,
        )


def _task_id(response):
    try:
        return json.loads(response.get("body") or "{}")["task"]["taskId"]
    except (AttributeError, KeyError, TypeError, ValueError):  # None: a scheduled event
        return None


MODULES = ("flask", "pynamodb", "marshmallow", "boto3", "botocore", "taskapp", "pytest", "moto")

if __name__ == "__main__":
    main(*sys.argv[1:5], int(os.environ.get("STARTED_NS", time.time_ns())))
