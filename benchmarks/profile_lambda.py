"""Profile: where a warm request's time goes inside the Lambda handler, by library and function.

Runs ROUNDS rounds of create, get, update and delete through Zappa's handler from the unpacked
`make package` zip against DynamoDB Local, as bench_lambda.py does, with every call after the
first under cProfile (tools/lambda_runner.py, PROFILE). Prints the time per request that each
library's own code takes (cProfile's tottime: time in a function, not in what it calls), then
the functions that take the most. cProfile slows Python down about twice and I/O not at all,
so shares, not absolute figures, are what to compare between two versions of the code.
Run with `make bench`, or alone: `.venv/bin/python benchmarks/profile_lambda.py [ROUNDS [FILE]]`,
which also keeps the statistics in FILE for pstats or a viewer.
"""

import pstats
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_lambda import build_package, create_table, lambda_env, run  # noqa: E402
from tests.events import rest_event  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.lambda_runner import unpack  # noqa: E402

ROUNDS = 500
TOP = 25
# The layers a request passes through, each named by the function that enters it: its time
# includes the layers inside it.
LAYERS = (
    ("Zappa's handler, all", "handler.py", "handler"),
    ("the Flask app", "app.py", "wsgi_app"),
    ("the view, with flask-smorest's decorators", "app.py", "dispatch_request"),
    ("botocore's DynamoDB call", "client.py", "_make_api_call"),
    ("waiting for DynamoDB", "~", "<method 'recv_into' of '_socket.socket' objects>"),
    ("sending to DynamoDB", "~", "<method 'sendall' of '_socket.socket' objects>"),
)
STDLIB = Path(sysconfig.get_paths()["stdlib"])
ROUND = [
    (rest_event("POST", "/tasks", body={"title": "Profiled", "tags": ["a"]}), 201),
    (rest_event("GET", "/tasks/{taskId}"), 200),
    (rest_event("PATCH", "/tasks/{taskId}", body={"status": "completed"}), 200),
    (rest_event("DELETE", "/tasks/{taskId}"), 200),
]


def library(filename, folders):
    """The library a profiled function belongs to: the package's or runtime's top-level name,
    the standard library's module, or the kind of built-in."""
    if filename.startswith("~") or filename.startswith("<"):
        return "(built-in)"
    path = Path(filename)
    for folder in folders:
        if path.is_relative_to(folder):
            return path.relative_to(folder).parts[0].removesuffix(".py")
    if path.is_relative_to(STDLIB):
        return "stdlib " + path.relative_to(STDLIB).parts[0].removesuffix(".py")
    return path.name


def main(rounds=ROUNDS, keep=None):
    package, _ = build_package()
    with DynamoDBLocal() as database, tempfile.TemporaryDirectory() as folder:
        create_table(database.endpoint)
        task, runtime = unpack(package, folder)
        # The runtime's libraries are links into this interpreter's site-packages.
        linked = {link.resolve().parent for link in runtime.iterdir()}
        folders = [task, runtime, *linked]
        profile = Path(folder) / "profile.out"
        env = lambda_env(database.endpoint) | {"PROFILE": str(profile)}
        events = [event for event, _ in ROUND] * rounds
        results = run(task, runtime, events, env, folder)["results"]
        for index, result in enumerate(results):
            status, expected = result["response"]["statusCode"], ROUND[index % len(ROUND)][1]
            if status != expected:
                raise RuntimeError(f"call {index} answered {status}, not {expected}")
        stats = pstats.Stats(str(profile))
        if keep:
            stats.dump_stats(keep)

    calls = len(events) - 1
    total = stats.total_tt
    by_library = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        name = library(filename, folders)
        by_library[name] = by_library.get(name, 0) + tottime
    print(f"profile of {calls} warm calls (create, get, update, delete) through Zappa's handler")
    print(f"  {total / calls * 1e3:.2f} ms a call under cProfile, by library (own time):")
    for name, seconds in sorted(by_library.items(), key=lambda item: -item[1])[:TOP]:
        share = seconds / total * 100
        print(f"    {share:5.1f}%  {seconds / calls * 1e6:7.0f} us  {name}")
    print("  by layer (time inside it, the layers it calls included):")
    for label, filename, function in LAYERS:
        seconds = sum(
            cumtime
            for (path, _, name), (_, _, _, cumtime, _) in stats.stats.items()
            if name == function and Path(path).name == filename
        )
        print(f"    {seconds / calls * 1e6:7.0f} us  {label}")
    print(f"  the {TOP} functions with the most own time:")
    ranked = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:TOP]
    for (filename, line, function), (_, ncalls, tottime, _, _) in ranked:
        where = f"{library(filename, folders)}:{Path(filename).name}:{line} {function}"
        per_call = ncalls / calls
        print(f"    {tottime / total * 100:5.1f}%  {per_call:5.1f}x  {where}")


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:2]), *sys.argv[2:3])
