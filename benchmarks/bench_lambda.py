"""Benchmark: the Lambda package, its cold start and its warm latency through Zappa's handler.

Prints the zip's size and what it must not hold; the cold start as the wall time from
spawning an interpreter to the first GET answered from the unpacked zip, beside the floor
`import boto3, flask, pynamodb.models, marshmallow` measured in the same run and the same
bare interpreter. Both run as Lambda runs the package: the zip holds no .pyc files (Zappa
leaves __pycache__ out) and /var/task is read-only, so its modules compile at every cold
start (-B), while the runtime's boto3 and botocore come precompiled. Then the warm median
per operation through the handler. Last, the same for a stage with X-Ray tracing on
("xray_tracing"): its package, with the SDK, built from a copy of the project, and every call
sampled, its segments sent to a UDP port as to Lambda's X-Ray daemon. Every figure is the median
of several runs, against DynamoDB Local. Run with `make bench`.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.events import rest_event  # noqa: E402
from tests.tokens import AUDIENCE, ISSUER, Keys  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.lambda_runner import unpack  # noqa: E402

RUNS = 9
WARM_ROUNDS = 60
FORBIDDEN = ("pytest", "moto", "troposphere", "cfn_flip", "boto3", "botocore", "pip", "ruff")
# The floor: what any Python handler on this stack pays before its first answer, the imports
# and a DynamoDB client's first request (a GetItem, as the cold start's first request makes).
FLOOR = "import boto3, flask, pynamodb.models, marshmallow"
FLOOR_REQUEST = (
    "import botocore.session; botocore.session.get_session()"
    ".create_client('dynamodb', endpoint_url=os.environ['DYNAMODB_ENDPOINT'])"
    ".get_item(TableName='taskapp-dev', Key={'pk': {'S': 'floor'}, 'sk': {'S': 'floor'}})"
)
MISSING_TASK = "/tasks/0193a4c2-7f4e-7b8a-9c1d-2e3f4a5b6c7d"


def build_package():
    start = time.perf_counter()
    subprocess.run(["make", "-s", "package", "STAGE=dev"], cwd=ROOT, check=True)
    return ROOT / "dist" / "taskapp-dev.zip", time.perf_counter() - start


def build_traced_package(folder):
    """The dev stage's package with "xray_tracing" on, built in a copy of the project."""
    project = Path(folder) / "traced"
    ignored = (".venv*", "node_modules", ".git", "dist", "artifacts", ".*_cache", ".dynamodb")
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*ignored))
    (project / ".venv-deploy").symlink_to(ROOT / ".venv-deploy")
    settings = json.loads((project / "zappa_settings.json").read_text())
    settings["dev"]["xray_tracing"] = True
    (project / "zappa_settings.json").write_text(json.dumps(settings))
    subprocess.run(
        ["make", "-s", "package", "STAGE=dev"], cwd=project, check=True, capture_output=True
    )
    return project / "dist" / "taskapp-dev.zip"


def lambda_env(endpoint):
    return {
        "PATH": os.environ["PATH"],
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DYNAMODB_ENDPOINT": endpoint,
        # Lambda names the function: the app knows it runs deployed (metrics on, as in AWS).
        "AWS_LAMBDA_FUNCTION_NAME": "taskapp-dev",
        **json.loads((ROOT / "zappa_settings.json").read_text())["dev"][
            "aws_environment_variables"
        ],
    }


def run(task, runtime, events, env, folder):
    events_path, results_path = Path(folder) / "events.json", Path(folder) / "results.json"
    events_path.write_text(json.dumps(events))
    env = env | {"STARTED_NS": str(time.time_ns())}
    subprocess.run(
        [
            sys.executable,
            "-S",
            "-B",
            str(ROOT / "tools" / "lambda_runner.py"),
            str(task),
            str(runtime),
        ]
        + [str(events_path), str(results_path)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads(results_path.read_text())


def with_jwt(env, keys, folder):
    """``env`` with AUTH_MODE=jwt, trusting ``keys``' "rsa-1" through a JWKS file in ``folder``."""
    jwks = Path(folder) / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks("rsa-1")))
    return env | {
        "AUTH_MODE": "jwt",
        "AUTH_JWKS_URL": str(jwks),
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
    }


def floor_ms(task, runtime, env):
    path = f"import os, sys; sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-S", "-B", "-c", f"{path}; {FLOOR}; {FLOOR_REQUEST}"], env=env, check=True
    )
    return (time.perf_counter() - start) * 1000


def create_table(endpoint):
    env = os.environ | {"TABLE_NAME": "taskapp-dev", "DYNAMODB_ENDPOINT": endpoint}
    env |= lambda_env(endpoint) | {"PATH": os.environ["PATH"]}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "create-table"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def print_contents(package):
    """What the zip holds, by top-level folder (a distribution's .dist-info counted with it),
    largest first, in compressed MiB as the zip stores them."""
    sizes = {}
    for info in zipfile.ZipFile(package).infolist():
        top = info.filename.split("/")[0]
        if top.endswith(".dist-info"):
            top = top.split("-")[0].lower()
        sizes[top] = sizes.get(top, 0) + info.compress_size
    print("  inside, compressed:")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"    {size / 2**20:6.2f} MiB  {name}")


def median_cold_ms(task, runtime, events, env, folder):
    return statistics.median(
        run(task, runtime, events, env, folder)["first_answer_ms"] for _ in range(RUNS)
    )


def warm_ms(task, runtime, env, folder):
    """Median ms of create and get through the handler, WARM_ROUNDS each."""
    rounds = [
        rest_event("POST", "/tasks", body={"title": "Warm", "tags": ["a"]}),
        rest_event("GET", "/tasks/{taskId}"),
    ]
    results = run(task, runtime, rounds * WARM_ROUNDS, env, folder)["results"]
    return [
        statistics.median(r["ms"] for r in results[len(rounds) + index :: len(rounds)])
        for index in range(len(rounds))
    ]


def main():
    package, build_seconds = build_package()
    names = zipfile.ZipFile(package).namelist()
    top = {name.split("/")[0] for name in names}
    leaked = [name for name in FORBIDDEN if name in top]
    size = package.stat().st_size
    print(f"package        {package.relative_to(ROOT)}: {size / 2**20:.2f} MiB, {len(names)} files")
    print(f"               built in {build_seconds:.1f} s; forbidden inside: {leaked or 'none'}")
    print_contents(package)

    with DynamoDBLocal() as database, tempfile.TemporaryDirectory() as folder:
        create_table(database.endpoint)
        task, runtime = unpack(package, folder)
        env = lambda_env(database.endpoint)
        first_get = [rest_event("GET", MISSING_TASK)]
        cold, floor = [], []
        for _ in range(RUNS):
            floor.append(floor_ms(task, runtime, env))
            result = run(task, runtime, first_get, env, folder)
            assert result["results"][0]["response"]["statusCode"] == 404
            cold.append(result["first_answer_ms"])
        cold_ms, floor_median = statistics.median(cold), statistics.median(floor)
        print(f"\ncold start     {cold_ms:.0f} ms from spawn to the first answer (a GET, 404)")
        print(f"floor          {floor_median:.0f} ms for `{FLOOR}`, a botocore client, one GetItem")
        print(f"               {cold_ms - floor_median:+.0f} ms above the floor ({RUNS} runs each)")

        # The same with AUTH_MODE=jwt: the first request also verifies an RS256 token.
        keys = Keys()
        jwt_env = with_jwt(env, keys, folder)
        signed_get = [
            rest_event("GET", "/tasks", headers={"Authorization": f"Bearer {keys.token()}"})
        ]
        jwt_cold = []
        for _ in range(RUNS):
            result = run(task, runtime, signed_get, jwt_env, folder)
            assert result["results"][0]["response"]["statusCode"] == 200
            jwt_cold.append(result["first_answer_ms"])
        jwt_ms = statistics.median(jwt_cold)
        print(f"cold, jwt      {jwt_ms:.0f} ms with AUTH_MODE=jwt and a verified RS256 token")
        print(f"               {jwt_ms - floor_median:+.0f} ms above the floor")

        # Zappa's INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT loads the app when Lambda imports the
        # handler (its init phase) instead of in the first invocation: the same work, moved.
        first_call = {False: [], True: []}
        for _ in range(RUNS):
            for on_import in (False, True):
                flag = {"INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "true"} if on_import else {}
                result = run(task, runtime, first_get, env | flag, folder)
                first_call[on_import].append(result["results"][0]["ms"])
        late, early = (statistics.median(first_call[flag]) for flag in (False, True))
        print(f"first call     {late:.0f} ms (the app loaded in it), {early:.0f} ms when the app")
        print("               loads at import (INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT)")

        rounds = [
            rest_event("POST", "/tasks", body={"title": "Warm", "tags": ["a"]}),
            rest_event("GET", "/tasks/{taskId}"),
            rest_event("PATCH", "/tasks/{taskId}", body={"status": "completed"}),
            rest_event("GET", "/tasks", query="limit=50"),
            rest_event("DELETE", "/tasks/{taskId}"),
        ]
        labels = ["create", "get", "update", "list (50)", "delete"]
        results = run(task, runtime, rounds * WARM_ROUNDS, env, folder)["results"]
        print(f"\nwarm, through Zappa's handler (median of {WARM_ROUNDS - 1} calls each):")
        for index, label in enumerate(labels):
            times = [r["ms"] for r in results[len(rounds) + index :: len(rounds)]]
            statuses = {r["response"]["statusCode"] for r in results[index :: len(rounds)]}
            print(f"  {label:<12}{statistics.median(times):>8.2f} ms   status {sorted(statuses)}")

        # A traced stage: the SDK imported and botocore patched at start, every call sampled.
        daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        daemon.bind(("127.0.0.1", 0))  # takes the segments; nothing reads them
        traced_package = build_traced_package(folder)
        traced_task, traced_runtime = unpack(traced_package, Path(folder) / "traced-lambda")
        traced_env = env | {
            "TRACING": "true",
            "LAMBDA_TASK_ROOT": str(traced_task),
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "_X_AMZN_TRACE_ID": "Root=1-6759e988-bd862e3fe1be46a994272793;"
            "Parent=557abcec3ee5a047;Sampled=1",
        }
        off = median_cold_ms(traced_task, traced_runtime, first_get, env, folder)
        on = median_cold_ms(traced_task, traced_runtime, first_get, traced_env, folder)
        print(f"\ntraced stage   package {traced_package.stat().st_size / 2**20:.2f} MiB")
        print(f"  cold start   {on:.0f} ms with TRACING on, {off:.0f} ms off")
        print(f"               {on - off:+.0f} ms for tracing ({RUNS} runs each)")
        on = warm_ms(traced_task, traced_runtime, traced_env, folder)
        off = warm_ms(traced_task, traced_runtime, env, folder)
        for label, traced, untraced in zip(("create", "get"), on, off, strict=True):
            ratio = traced / untraced
            print(f"  {label:<12}{traced:>7.2f} ms traced, {untraced:.2f} ms not: {ratio:.2f}x")
        daemon.close()


if __name__ == "__main__":
    main()
