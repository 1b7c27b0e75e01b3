"""Benchmark: what a million requests of the load benchmark's mix cost, per stage, in us-east-1.

The mix is benchmarks/load.lua's, read from the file: its shares of create, list (of its page
size), read, update and delete, and the bodies it sends. Every figure is measured, then priced:

1. DynamoDB: the read and write units of each operation, through the app (create_app on
   DynamoDB Local), from ReturnConsumedCapacity=INDEXES, so every index a request touches is
   counted (the table, the three local indexes, and the global reminder index, which load.lua's
   plain tasks never enter). The list reads a table holding more than a page of each status, as
   after a while of load. Units are the median of several calls; they should not vary.
2. Lambda: the warm duration of each operation through Zappa's handler in the dev package
   (`make -s package STAGE=dev`, run by tools/lambda_runner.py as bench_lambda.py does), each
   call rounded up to Lambda's 1 ms billing step; the median over runs of each run's mean billed
   ms (a bill adds up every call, so the mean, not the median, is what a run would be billed).
   Stages whose AUTH_MODE is jwt are measured with a signed RS256 token on every request.
   Priced at each stage's memory_size (zappa_settings.json) in GB-seconds, plus the request fee.
3. API Gateway: the REST API that Zappa deploys, and an HTTP API for comparison; staging and
   prod add the WAF web ACL that caller_rate_limit attaches (REST APIs only).

Then the bill of a team of 10,000 daily users making 50 requests each, 30 days a month.
List prices, no free tier; they are in PRICES below with their dates. Run with `make bench`.
"""

import json
import math
import re
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The sibling benchmarks (this script's folder is first on sys.path); bench_api sets DynamoDB
# Local's credentials and a quiet log level before it imports the app.
from bench_api import INDEXES, build_app, succeeded  # noqa: E402
from bench_lambda import (  # noqa: E402
    WARM_ROUNDS,
    build_package,
    create_table,
    lambda_env,
    run,
    with_jwt,
)

from tests.events import rest_event  # noqa: E402
from tests.tokens import Keys  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.lambda_runner import unpack  # noqa: E402
from tools.meter import DynamoDBMeter  # noqa: E402


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    since: str = ""  # when this list price took effect, where known


# List prices in us-east-1 (US East, N. Virginia), as AWS's pricing pages listed them in 2025;
# they could not be checked live when this was written (2026-11-25), so compare them with
# https://aws.amazon.com/dynamodb/pricing/on-demand/, https://aws.amazon.com/lambda/pricing/,
# https://aws.amazon.com/api-gateway/pricing/ and https://aws.amazon.com/waf/pricing/ before
# quoting a figure. First volume tier only; no free tier, Savings Plans or data transfer.
PRICES_REGION = "us-east-1"
PRICES_LISTED = "2025"
PRICES_SOURCE = (
    "AWS's pricing pages for DynamoDB on-demand (Standard table class), Lambda (x86_64 unless "
    "a stage sets architecture), API Gateway and WAF: copies read in 2025, not re-checked live"
)
PRICES = {
    "dynamodb_write": Price(0.625, "million write request units, on-demand", "2024-11-01"),
    "dynamodb_read": Price(0.125, "million read request units, on-demand", "2024-11-01"),
    "lambda_request": Price(0.20, "million requests"),
    "lambda_gb_second_x86_64": Price(0.0000166667, "GB-second, x86_64, billed per 1 ms"),
    "lambda_gb_second_arm64": Price(0.0000133334, "GB-second, arm64, billed per 1 ms"),
    "rest_api": Price(3.50, "million REST API calls, first 333 million a month"),
    "http_api": Price(1.00, "million HTTP API calls, first 300 million a month, per 512 KB"),
    "waf_requests": Price(0.60, "million requests a web ACL inspects"),
    "waf_web_acl": Price(5.00, "web ACL a month"),
    "waf_rule": Price(1.00, "rule a month"),
}

RUNS = 5  # Lambda runs per auth mode (after one to warm up), each a fresh interpreter
UNIT_SAMPLES = 5  # calls per operation whose units are read; they should all agree
SEED_TASKS = 60  # half completed: both statuses hold more than a page of 20 (a list reads 21)
# Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
DAILY_USERS, REQUESTS_PER_USER, DAYS = 10_000, 50, 30
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
OPERATIONS = ("create", "list", "read", "update", "delete")


@dataclass(frozen=True)
class Mix:
    shares: dict  # operation: its share of requests
    limit: int  # the list's page size
    create_body: dict
    update_body: dict


@dataclass(frozen=True)
class Units:
    requests: list
    read: float
    write: float
    parts: dict  # "table" and each index: units
    varied: bool


@dataclass(frozen=True)
class Stage:
    name: str
    memory_mb: int
    architecture: str
    auth_mode: str
    waf: bool
    monthly_quota: int | None  # the API key's usage plan, when the stage requires a key
    key_rate_limit: float | None  # requests a second, the same usage plan


def load_mix():
    """The request mix of benchmarks/load.lua: its shares, page size and bodies."""
    text = (ROOT / "benchmarks" / "load.lua").read_text()
    calls = re.findall(r'wrk\.format\("(\w+)", "([^"]+)"', text)
    cuts = [int(cut) for cut in re.findall(r"roll <= (\d+)", text)]
    methods = [method for method, _ in calls]
    if methods != ["POST", "GET", "GET", "PATCH", "DELETE"] or len(cuts) != 4:
        sys.exit("benchmarks/load.lua no longer has the shape this bill reads: update bench_bill")
    bounds = [0, *cuts, 100]
    shares = {op: (bounds[i + 1] - bounds[i]) / 100 for i, op in enumerate(OPERATIONS)}
    limit = int(re.search(r"limit=(\d+)", calls[1][1]).group(1))
    create = re.search(r'wrk\.format\("POST", "/tasks", json, \'([^\']*)\'', text).group(1)
    update = re.search(r'wrk\.format\("PATCH", [^\n]*json, \'([^\']*)\'', text).group(1)
    return Mix(shares, limit, json.loads(create), json.loads(update))


def load_stages():
    """Each stage of zappa_settings.json, with what its bill depends on."""
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    stages = []
    for name, own in settings.items():
        if name == "common":
            continue
        merged = settings.get(own.get("extends"), {}) | own
        env = merged.get("aws_environment_variables", {})
        limits = merged.get("taskapp", {})
        stages.append(
            Stage(
                name,
                merged.get("memory_size", 512),  # Zappa's default
                merged.get("architecture", "x86_64"),
                env.get("AUTH_MODE", "none"),
                "caller_rate_limit" in limits,
                limits.get("api_key_monthly_quota") if merged.get("api_key_required") else None,
                limits.get("api_key_rate_limit") if merged.get("api_key_required") else None,
            )
        )
    return stages


def measure_units(client, log, mix):
    """Units of each operation of the mix (and of an update of a task already completed)."""

    def new_task():
        answer = succeeded(client.post("/tasks", json=mix.create_body), "seed")
        return answer.get_json()["task"]["taskId"]

    def completed_task():
        task_id = new_task()
        succeeded(client.patch(f"/tasks/{task_id}", json=mix.update_body), "seed")
        return task_id

    seeded = [new_task() if i % 2 else completed_task() for i in range(SEED_TASKS)]
    calls = {
        "create": (None, lambda _: client.post("/tasks", json=mix.create_body)),
        "list": (None, lambda _: client.get(f"/tasks?limit={mix.limit}")),
        "read": (lambda: seeded[1], lambda t: client.get(f"/tasks/{t}")),
        "update": (new_task, lambda t: client.patch(f"/tasks/{t}", json=mix.update_body)),
        "delete": (new_task, lambda t: client.delete(f"/tasks/{t}")),
        "update again": (
            completed_task,
            lambda t: client.patch(f"/tasks/{t}", json=mix.update_body),
        ),
    }
    figures = {}
    for name, (prepare, call) in calls.items():
        samples = []
        for _ in range(UNIT_SAMPLES):
            task_id = prepare() if prepare else None
            log.reset()
            succeeded(call(task_id), name)
            samples.append(list(log.requests))
        reads = [_units(sample, reading=True) for sample in samples]
        writes = [_units(sample, reading=False) for sample in samples]
        parts = {
            part: statistics.median(sum(r.units.get(part, 0.0) for r in s) for s in samples)
            for part in ("table", *INDEXES)
        }
        figures[name] = Units(
            [r.operation for r in samples[0]],
            statistics.median(reads),
            statistics.median(writes),
            parts,
            len(set(reads)) > 1 or len(set(writes)) > 1,
        )
    return figures


def _units(requests, reading):
    """Read units (reading) or write units of one call's requests: DynamoDB bills them apart."""
    return sum(r.capacity or 0 for r in requests if (r.operation in READ_OPERATIONS) == reading)


def measure_durations(endpoint, mix, auth_modes):
    """Per auth mode and operation: (median ms, mean billed ms, median billed ms), each the
    median over RUNS."""
    create_table(endpoint)
    with tempfile.TemporaryDirectory() as folder:
        task, runtime = unpack(build_package()[0], folder)
        env = lambda_env(endpoint)
        keys = Keys()
        jwt_env = with_jwt(env, keys, folder)
        setups = {"none": (env, lambda: {}), "jwt": (jwt_env, lambda: _bearer(keys))}
        # Modes take turns, so that a busy moment of the machine (or DynamoDB Local's JIT still
        # warming up) weighs on both alike; the first turn warms up and is left out.
        runs = {mode: [] for mode in auth_modes}
        for turn in range(RUNS + 1):
            for mode in auth_modes:
                mode_env, headers = setups[mode]
                measured = _lambda_run(task, runtime, mode_env, folder, mix, headers())
                if turn:
                    runs[mode].append(measured)
    return {
        mode: {
            op: tuple(statistics.median(run_[op][i] for run_ in mode_runs) for i in range(3))
            for op in OPERATIONS
        }
        for mode, mode_runs in runs.items()
    }


def _bearer(keys):
    return {"Authorization": f"Bearer {keys.token()}"}


def _lambda_run(task, runtime, env, folder, mix, headers):
    """One interpreter: seed more than a page of each status, then WARM_ROUNDS of the mix's
    five requests, each round on a task of its own; the first round warms up and is left out."""
    create = rest_event("POST", "/tasks", body=mix.create_body, headers=headers)
    update = rest_event("PATCH", "/tasks/{taskId}", body=mix.update_body, headers=headers)
    seed = [create, update] * (SEED_TASKS // 2) + [create] * (SEED_TASKS // 2)
    rounds = {
        "create": create,
        "read": rest_event("GET", "/tasks/{taskId}", headers=headers),
        "update": update,
        "list": rest_event("GET", "/tasks", query=f"limit={mix.limit}", headers=headers),
        "delete": rest_event("DELETE", "/tasks/{taskId}", headers=headers),
    }
    events = seed + list(rounds.values()) * WARM_ROUNDS
    results = run(task, runtime, events, env, folder)["results"][len(seed) :]
    figures = {}
    for index, op in enumerate(rounds):
        calls = results[index :: len(rounds)]
        statuses = {call["response"]["statusCode"] for call in calls}
        if max(statuses) >= 300:
            raise RuntimeError(f"Lambda {op}: statuses {sorted(statuses)}")
        times = [call["ms"] for call in calls[1:]]
        billed = [math.ceil(t) for t in times]
        figures[op] = (statistics.median(times), statistics.mean(billed), statistics.median(billed))
    return figures


def per_million(stage, mix, units, durations):
    """Dollars per million requests of the mix on ``stage``, by component."""
    read_price, write_price = PRICES["dynamodb_read"].usd, PRICES["dynamodb_write"].usd
    dynamodb = sum(
        share * (units[op].read * read_price + units[op].write * write_price)
        for op, share in mix.shares.items()
    )
    billed_ms = sum(share * durations[stage.auth_mode][op][1] for op, share in mix.shares.items())
    lambda_ = lambda_cost(stage, billed_ms)
    rest = PRICES["rest_api"].usd
    waf = PRICES["waf_requests"].usd if stage.waf else 0.0
    http = PRICES["http_api"].usd
    return {
        "dynamodb": dynamodb,
        "lambda": lambda_,
        "billed_ms": billed_ms,
        "rest": rest,
        "waf": waf,
        "total_rest": dynamodb + lambda_ + rest + waf,
        "http": http,
        "total_http": dynamodb + lambda_ + http,
    }


def lambda_cost(stage, billed_ms):
    """Lambda's dollars per million requests billed ``billed_ms`` each at the stage's memory."""
    gb_second = PRICES[f"lambda_gb_second_{stage.architecture}"].usd
    gb_seconds = billed_ms / 1000 * stage.memory_mb / 1024
    return gb_seconds * gb_second * 1e6 + PRICES["lambda_request"].usd


def print_prices():
    print(f"Prices: {PRICES_REGION} list prices as listed in {PRICES_LISTED}; {PRICES_SOURCE}")
    for name, price in PRICES.items():
        usd = f"{price.usd:.10f}".rstrip("0").rstrip(".")
        since = f" (since {price.since})" if price.since else ""
        print(f"  {name:<25}${usd:<14}per {price.per}{since}")


def print_units(mix, units):
    print(
        f"\nDynamoDB units per operation, through the app on DynamoDB Local "
        f"(ReturnConsumedCapacity=INDEXES, median of {UNIT_SAMPLES} calls):"
    )
    header = "".join(f"{part:>15}" for part in ("table", *INDEXES))
    print(f"{'operation':<22}{'share':>6}  {'requests':<20}{header}{'RRU':>6}{'WRU':>6}")
    for name, figures in units.items():
        share = f"{mix.shares[name]:.0%}" if name in mix.shares else "-"
        label = f"list (limit={mix.limit})" if name == "list" else name
        parts = "".join(f"{figures.parts[part]:>15.1f}" for part in ("table", *INDEXES))
        flag = "  (varied between calls)" if figures.varied else ""
        print(
            f"{label:<22}{share:>6}  {', '.join(figures.requests):<20}{parts}"
            f"{figures.read:>6.1f}{figures.write:>6.1f}{flag}"
        )
    read = sum(share * units[op].read for op, share in mix.shares.items())
    write = sum(share * units[op].write for op, share in mix.shares.items())
    width = 22 + 6 + 2 + 20 + 15 * (1 + len(INDEXES))
    print(f"{'a request of the mix':<{width}}{read:>6.2f}{write:>6.2f}")
    print(
        '("update again": load.lua\'s PATCH of a task it already completed; the bill counts '
        "every update as the first, the dearer one.)"
    )


def print_durations(mix, durations):
    modes = list(durations)
    print(
        f"\nLambda, warm, through Zappa's handler in the dev package ({RUNS} runs of "
        f"{WARM_ROUNDS - 1} calls per operation; medians over runs):"
    )
    print(f"{'':<22}" + "".join(f"{'AUTH_MODE ' + m:>39}" for m in modes))
    columns = ("ms, median", "billed, mean", "billed, med")
    print(f"{'operation':<22}" + "".join(f"{c:>13}" for _ in modes for c in columns))
    for op in OPERATIONS:
        label = f"list (limit={mix.limit})" if op == "list" else op
        cells = "".join(f"{figure:>13.2f}" for m in modes for figure in durations[m][op])
        print(f"{label:<22}{cells}")
    mixed = "".join(
        f"{sum(s * durations[m][op][i] for op, s in mix.shares.items()):>13.2f}"
        for m in modes
        for i in range(3)
    )
    print(f"{'a request of the mix':<22}{mixed}")
    print(
        "billed: each call rounded up to Lambda's 1 ms step; the bill uses a run's mean (every "
        "call is billed, slow ones too).\nDynamoDB Local's latency stands in for AWS DynamoDB's, "
        "and this machine's unthrottled core for the stage's CPU share."
    )


def print_bill(stages, costs):
    print("\nDollars per million requests of the mix:")
    print(f"{'':<34}" + "".join(f"{s.name:>12}" for s in stages))
    rows = [
        ("memory_size", lambda s, c: f"{s.memory_mb} MB"),
        ("AUTH_MODE", lambda s, c: s.auth_mode),
        ("billed ms a request", lambda s, c: f"{c['billed_ms']:.2f}"),
        ("DynamoDB (on-demand)", lambda s, c: f"{c['dynamodb']:.4f}"),
        ("Lambda (GB-s + requests)", lambda s, c: f"{c['lambda']:.4f}"),
        ("API Gateway, REST API", lambda s, c: f"{c['rest']:.4f}"),
        ("WAF (caller_rate_limit)", lambda s, c: f"{c['waf']:.4f}" if s.waf else "-"),
        ("total, REST API", lambda s, c: f"{c['total_rest']:.2f}"),
        ("API Gateway, HTTP API instead", lambda s, c: f"{c['http']:.4f}"),
        ("total, HTTP API (no WAF)", lambda s, c: f"{c['total_http']:.2f}"),
    ]
    for label, cell in rows:
        print(f"{label:<34}" + "".join(f"{cell(s, costs[s.name]):>12}" for s in stages))


def print_team(stages, costs):
    requests = DAILY_USERS * REQUESTS_PER_USER * DAYS
    millions = requests / 1e6
    waf_fixed = PRICES["waf_web_acl"].usd + PRICES["waf_rule"].usd
    print(
        f"\nA team: {DAILY_USERS:,} daily users x {REQUESTS_PER_USER} requests x {DAYS} days "
        f"= {requests:,} requests a month, per stage:"
    )
    print(f"{'stage':<10}{'REST API':>12}{'HTTP API':>12}{'HTTP saves':>14}   of which")
    for stage in stages:
        cost = costs[stage.name]
        rest = cost["total_rest"] * millions + (waf_fixed if stage.waf else 0.0)
        http = cost["total_http"] * millions
        gateway = (cost["rest"] - cost["http"]) * millions
        waf = rest - http - gateway
        note = f"API Gateway ${gateway:,.2f}" + (f", WAF ${waf:,.2f}" if stage.waf else "")
        print(
            f"{stage.name:<10}{'$' + format(rest, ',.2f'):>12}{'$' + format(http, ',.2f'):>12}"
            f"{'$' + format(rest - http, ',.2f'):>10} {(rest - http) / rest:>3.0%}   {note}"
        )
    print(
        f"(REST includes the web ACL's ${waf_fixed:.0f} a month where caller_rate_limit is set. "
        "Not included: CloudWatch Logs, data transfer,\nstorage, the reminder scheduler's and "
        "keep-warm's invocations, cold starts, free tiers.)"
    )
    average = requests / (DAYS * 86_400)
    for stage in stages:
        if stage.monthly_quota is not None and stage.monthly_quota < requests:
            day = stage.monthly_quota / (requests / DAYS)
            print(
                f"Note: {stage.name}'s usage plan allows {stage.monthly_quota:,} requests a month: "
                f"such a team would be refused (429) from day {math.floor(day) + 1}."
            )
        if stage.key_rate_limit is not None and stage.key_rate_limit < average:
            print(
                f"Note: {stage.name}'s usage plan allows {stage.key_rate_limit:g} requests a "
                f"second, under such a team's average of {average:.1f}."
            )


def print_cpu_share(stages, mix, durations):
    print(
        f"\nIf every measured ms were CPU work, slowed to the stage's share of a vCPU "
        f"(memory / {FULL_VCPU_MB:,} MB):"
    )
    for stage in stages:
        factor = max(1.0, FULL_VCPU_MB / stage.memory_mb)
        billed = sum(
            share * math.ceil(durations[stage.auth_mode][op][1] * factor)
            for op, share in mix.shares.items()
        )
        print(
            f"  {stage.name:<8} x{factor:.2f}: about {billed:.1f} billed ms a request, Lambda "
            f"${lambda_cost(stage, billed):.4f} per million (an upper bound: DynamoDB waits "
            "are not CPU)"
        )


def main():
    mix = load_mix()
    stages = load_stages()
    print_prices()
    shares = ", ".join(f"{op} {share:.0%}" for op, share in mix.shares.items())
    print(f"\nMix (benchmarks/load.lua): {shares}; list page limit={mix.limit}")
    with DynamoDBLocal() as database:
        app = build_app(database.endpoint, "taskapp-bench-bill")
        with DynamoDBMeter(indexes=True) as log:
            units = measure_units(app.test_client(), log, mix)
        print_units(mix, units)
        modes = [mode for mode in ("none", "jwt") if any(s.auth_mode == mode for s in stages)]
        if {stage.auth_mode for stage in stages} - set(modes):
            sys.exit("bench_bill measures AUTH_MODE none and jwt only")
        durations = measure_durations(database.endpoint, mix, modes)
    print_durations(mix, durations)
    costs = {stage.name: per_million(stage, mix, units, durations) for stage in stages}
    print_bill(stages, costs)
    print_team(stages, costs)
    print_cpu_share(stages, mix, durations)


if __name__ == "__main__":
    main()
