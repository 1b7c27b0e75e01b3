"""Benchmark: one run of the reminder scheduler, by how many reminders are due: its time and cost.

The scheduler (taskapp/reminders.py) runs every minute. Against DynamoDB Local, with the emails
sent through SES v2 on moto's server, this prints for 0, 100 and 10,000 reminders due a few
seconds ago (each task of its own owner and address, all in the current minute of the reminder
index):

1. The wall time of the run, or of the runs that 10,000 need within the function's timeout
   (zappa_settings.json), with a Lambda context that counts that timeout down, and the
   reminders sent per second.
2. The DynamoDB requests by operation and the read and write units they consumed
   (ReturnConsumedCapacity=INDEXES), the run's alone and not the seeding's; then the cost as a
   constant per run plus a part per reminder.
3. Whether every reminder was sent exactly once, to its task's address (the messages moto
   holds, by their X-Taskapp-Task-Id) and recorded (each task's remindDone and remindOutcome).
4. The same for 0 and 100 with REMINDER_OUTBOX (.eml files), which leaves SES out.
5. The first run, which has no cursor and reads every minute of the catch-up window; and the
   every-minute floor, a run with nothing due, priced per month.

Each seeded stage starts with the cursor at the current minute, as the run of a minute ago
left it. Figures for 0 and 100 are the median of a few repetitions, each on a table of its own.
Run with `make bench`.
"""

import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Fake credentials and nothing of a real account; SES alone is pointed at moto, once it runs.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    LOG_LEVEL="WARNING",  # the run's info line each minute would bury the figures
)
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "TABLE_NAME"):
    os.environ.pop(name, None)

import boto3  # noqa: E402

from taskapp import create_app, reminders, store  # noqa: E402
from taskapp.config import TestConfig  # noqa: E402
from taskapp.models import MODELS, Task, reminder_bucket  # noqa: E402
from taskapp.store import reminders as filed  # noqa: E402
from taskapp.store.base import now  # noqa: E402
from tools.dynamodb_local import DynamoDBLocal  # noqa: E402
from tools.meter import DynamoDBMeter, Request  # noqa: E402
from tools.seeding import seed_due_reminders  # noqa: E402
from tools.zappa_offline import MotoServer  # noqa: E402

SIZES = (0, 100, 10_000)
REPEATS = {0: 3, 100: 3, 10_000: 1}
# The outbox's 10,000 would add a minute and a half: SES is what 10,000 are measured for.
OUTBOX_SIZES = (0, 100)
SENDER = "reminders@example.com"
LINK = "https://tasks.example.com/dev/app"
DUE_AGO = timedelta(seconds=5)
MAX_RUNS = 40  # a stage that needs more than this has stopped making progress
SETTINGS = json.loads((ROOT / "zappa_settings.json").read_text())
TIMEOUT = SETTINGS["common"]["timeout_seconds"]
# On-demand prices in us-east-1, per million request units; Lambda's per million requests and
# per GB-second (x86).
WRITE_PRICE, READ_PRICE = 1.25, 0.25
WRITE_PRICE_NOV_2024, READ_PRICE_NOV_2024 = 0.625, 0.125
LAMBDA_REQUEST_PRICE, LAMBDA_GB_SECOND = 0.20, 0.0000166667
RUNS_PER_MONTH = 43_200
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
TASK_ID = re.compile(r"^X-Taskapp-Task-Id: (\S+)", re.MULTILINE)


class RunMeter(DynamoDBMeter):
    """DynamoDBMeter on every model's client, safe for the scheduler's worker threads.

    Each PynamoDB model has a botocore client of its own (the cursor is a ReminderProgress, not
    a Task), and DynamoDBMeter pairs a response with the last request sent, which another thread
    may have sent meanwhile: this pairs them through botocore's request context, and counts the
    global index's units too.
    """

    def __enter__(self):
        self._emitters = {id(e): e for e in map(_events, MODELS)}.values()
        for events in self._emitters:
            events.register("before-parameter-build.dynamodb", self._before, unique_id="run-in")
            events.register("after-call.dynamodb", self._after, unique_id="run-out")
        return self

    def __exit__(self, *exc):
        for events in self._emitters:
            events.unregister("before-parameter-build.dynamodb", unique_id="run-in")
            events.unregister("after-call.dynamodb", unique_id="run-out")

    def _before(self, params, model, context, **_):
        shape = model.input_shape
        if shape is not None and "ReturnConsumedCapacity" in shape.members:
            # The app asks for none (taskapp/store/base.py): the meter asks for what it counts.
            params["ReturnConsumedCapacity"] = "INDEXES" if self.indexes else "TOTAL"
        context["meter"] = request = Request(model.name, dict(params))
        self.requests.append(request)

    def _after(self, parsed, context, **_):
        request = context.get("meter")
        if request is None:
            return
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        if entries:
            request.capacity = sum(entry.get("CapacityUnits", 0.0) for entry in entries)
        for entry in entries:
            parts = {"table": entry.get("Table", {}).get("CapacityUnits", 0.0)}
            for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
                for name, index in entry.get(kind, {}).items():
                    parts[name] = index["CapacityUnits"]
            for name, units in parts.items():
                request.units[name] = request.units.get(name, 0.0) + units
        request.items_read = parsed.get("ScannedCount", 0)


def _events(model):
    return model._get_connection().connection.client.meta.events


class LambdaContext:
    """What the scheduler reads of Lambda's context: the time left of the function's timeout."""

    def __init__(self, timeout=TIMEOUT):
        self.aws_request_id = str(uuid.uuid4())
        self.deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self):
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class Complaints(logging.Handler):
    """The scheduler's warnings and errors (a run that stopped, a reminder not sent)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@dataclass
class Stage:
    """One measured stage: the runs it took and what they did."""

    due: int
    seconds: list = field(default_factory=list)  # per run
    cpu: list = field(default_factory=list)  # per run, this process's CPU time (all threads)
    tallies: list = field(default_factory=list)  # per run
    requests: list = field(default_factory=list)  # all runs'
    seed_seconds: float = 0.0
    moto_recipients: int | None = None  # SentLast24Hours's increase
    copies: Counter | None = None  # moto's messages per seeded task
    misaddressed: int = 0  # moto's messages for a seeded task, to another address
    recorded: Counter = field(default_factory=Counter)  # remindOutcome per seeded task
    files: int | None = None
    complaints: list = field(default_factory=list)

    @property
    def runs(self):
        return len(self.seconds)

    @property
    def total_seconds(self):
        return sum(self.seconds)

    @property
    def sent(self):
        return sum(tally["sent"] for tally in self.tallies)

    def units(self, reads=None):
        """Units consumed by the reads (True), the writes (False) or all requests (None)."""
        return sum(
            r.capacity or 0
            for r in self.requests
            if reads is None or (r.operation in READS) == reads
        )

    def parts(self):
        """Write units by table, local indexes and the global index."""
        split = Counter()
        for request in self.requests:
            if request.operation in READS:
                continue
            for name, units in request.units.items():
                kind = "GSI" if name == "reminder-index" else "LSI" if name != "table" else name
                split[kind] += units
        return split

    def operations(self):
        return Counter(request.operation for request in self.requests)

    def exactly_once(self):
        """Whether every seeded reminder was sent once and recorded sent, and nothing else."""
        recorded = self.recorded == Counter({"sent": self.due})
        if self.copies is None:  # the outbox: a second copy would replace the first file
            return recorded and self.files == self.due
        once = len(self.copies) == self.due and set(self.copies.values()) <= {1}
        return recorded and once and not self.misaddressed


def build_app(endpoint, outbox=None):
    """An app on a new table of its own, sending through SES (or into ``outbox``)."""
    config = TestConfig(f"taskapp-bench-reminders-{uuid.uuid4().hex[:8]}", endpoint)
    config.REMINDER_SENDER = SENDER
    config.REMINDER_OUTBOX = outbox
    app = create_app(config)
    with app.app_context():
        store.ensure_table()
    return app


def seed(count, stamp):
    """``count`` pending tasks, one per owner and address, each with a reminder due
    DUE_AGO before ``stamp``."""
    return seed_due_reminders(count, stamp - DUE_AGO, stamp, LINK)


def outcomes(ids):
    """remindOutcome of each seeded task, or "pending" while its reminder is not done."""
    wanted = set(ids)
    found = Counter()
    for task in Task.scan(attributes_to_get=["sk", "remindDone", "remindOutcome"]):
        if task.task_id in wanted:
            found[task.remind_outcome if task.remind_done else "pending"] += 1
    found["missing"] = len(wanted) - sum(found.values())
    return +found


class Moto:
    """SES on moto's server: the sender verified, and what it has sent."""

    def __init__(self, server):
        self.endpoint = server.endpoint
        self.ses = boto3.client("ses", region_name="us-east-1", endpoint_url=self.endpoint)
        boto3.client(
            "sesv2", region_name="us-east-1", endpoint_url=self.endpoint
        ).create_email_identity(EmailIdentity=SENDER)

    def sent(self):
        return int(self.ses.get_send_quota()["SentLast24Hours"])

    def copies(self, addresses):
        """How many messages moto holds for each task of ``addresses`` (by X-Taskapp-Task-Id),
        and how many of them went to another address than the task's."""
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json") as answer:
            data = json.load(answer)
        found = Counter({task_id: 0 for task_id in addresses})
        misaddressed = 0
        for message in data.get("ses", {}).get("RawMessage", []):
            for task_id in TASK_ID.findall(message.get("raw_data", "")):
                if task_id in addresses:
                    found[task_id] += 1
                    misaddressed += set(message["destinations"]) != {addresses[task_id]}
        return found, misaddressed


def measure(endpoint, due, moto=None, cursor=True):
    """Seed ``due`` reminders on a new table and run the scheduler until they are all handled."""
    with tempfile.TemporaryDirectory() as folder:
        outbox = None if moto else os.path.join(folder, "outbox")
        app = build_app(endpoint, outbox)
        stage = Stage(due)
        complaints = Complaints()
        logger = logging.getLogger("taskapp.requests")
        logger.addHandler(complaints)
        try:
            with app.app_context():
                stamp = now()
                if cursor:
                    # Where the run of a minute ago left off; it also opens the model's client.
                    filed.save_cursor(reminder_bucket(stamp), stamp)
                else:
                    filed.read_cursor()  # opens the client without leaving a cursor
                seeding = time.perf_counter()
                addresses = seed(due, stamp)
                stage.seed_seconds = time.perf_counter() - seeding
            sent_before = moto.sent() if moto else 0
            with RunMeter(indexes=True) as meter:
                while stage.runs < MAX_RUNS:
                    started, cpu = time.perf_counter(), time.process_time()
                    tally = reminders.run(app, LambdaContext())
                    stage.seconds.append(time.perf_counter() - started)
                    stage.cpu.append(time.process_time() - cpu)
                    stage.tallies.append(tally)
                    handled = sum(tally[key] for key in ("sent", "failed", "missed", "cancelled"))
                    if stage.sent >= due or not handled:
                        break
                stage.requests = list(meter.requests)
            with app.app_context():
                stage.recorded = outcomes(addresses)
                if moto:
                    stage.moto_recipients = moto.sent() - sent_before
                    stage.copies, stage.misaddressed = moto.copies(addresses)
                else:
                    stage.files = len(list(Path(outbox).glob("*.eml")))
                Task.delete_table()
        finally:
            logger.removeHandler(complaints)
        stage.complaints = complaints.lines
        return stage


def median_stage(stages):
    """The repetition whose total time is the median, with its own requests and units."""
    ordered = sorted(stages, key=lambda stage: stage.total_seconds)
    return ordered[len(ordered) // 2]


def repeated(endpoint, due, moto):
    stages = [measure(endpoint, due, moto) for _ in range(REPEATS[due])]
    return median_stage(stages), stages


def billed_reads(stage):
    """Read units as AWS bills them: DynamoDB Local answers 0 for a Query that finds nothing,
    AWS at least 0.5 (eventually consistent) or 1 (strongly consistent) per request."""
    return sum(
        max(r.capacity or 0, 1.0 if r.params.get("ConsistentRead") else 0.5)
        for r in stage.requests
        if r.operation in READS
    )


def print_stages(title, rows):
    print(f"\n{title}")
    print(
        f"{'due':>7}{'runs':>5}{'wall s':>9}{'longest':>8}{'sent/s':>7}{'cpu s':>7}"
        f"{'read u':>8}{'write u':>8}{'(table/LSI/GSI)':>22}{'u/reminder':>11}  DynamoDB requests"
    )
    for stage, stages in rows:
        seconds = statistics.median(s.total_seconds for s in stages)
        rate = f"{stage.sent / stage.total_seconds:,.0f}" if stage.sent else "-"
        parts = stage.parts()
        split = f"({parts['table']:g}/{parts['LSI']:g}/{parts['GSI']:g})"
        per = f"{stage.units() / stage.due:.2f}" if stage.due else "-"
        print(
            f"{stage.due:>7,}{stage.runs:>5}{seconds:>9.3f}{max(stage.seconds):>8.3f}{rate:>7}"
            f"{sum(stage.cpu):>7.2f}{stage.units(True):>8g}{stage.units(False):>8g}{split:>22}"
            f"{per:>11}  {_ops(stage)}"
        )
    for stage, stages in rows:
        print(f"  {stage.due:,} due: {_outcomes(stage)}")
        if len(stages) > 1:
            each = ", ".join(f"{s.total_seconds:.3f}" for s in stages)
            print(f"    {len(stages)} repetitions: {each} s")
        if stage.due >= 1000:
            print(f"    seeded in {stage.seed_seconds:.1f} s (not counted)")
        check = "yes" if stage.exactly_once() else "NO"
        if stage.copies is not None:
            spread = dict(sorted(Counter(stage.copies.values()).items()))
            where = (
                f"moto holds {sum(stage.copies.values()):,} messages for them, tasks by copies "
                f"{spread}, {stage.misaddressed} to another address; SentLast24Hours "
                f"+{stage.moto_recipients:,}"
            )
        else:
            where = f"{stage.files:,} .eml files"
        recorded = dict(stage.recorded) or "nothing seeded"
        print(f"    each sent exactly once and recorded: {check} ({where}; table: {recorded})")
        for line in stage.complaints[:3]:
            print(f"    logged: {line[:150]}")
        if len(stage.complaints) > 3:
            print(f"    ... and {len(stage.complaints) - 3} more warnings")
        over = [s for s in stage.seconds if s > TIMEOUT]
        if over:
            print(f"    RUNS OVER THE {TIMEOUT} s TIMEOUT: {', '.join(f'{s:.1f} s' for s in over)}")


def _outcomes(stage):
    if stage.runs == 1:
        return f"the run did {_tally(stage.tallies[0])}"
    sent = ", ".join(f"{tally['sent']:,}" for tally in stage.tallies)
    left = ", ".join(f"{tally['left for the next run']:,}" for tally in stage.tallies)
    others = sum(stage.tallies, Counter()) - Counter(
        {"sent": stage.sent, "left for the next run": 10**9}
    )
    extra = f"; also {_tally(others)}" if others else ""
    return f"sent per run {sent}; left for the next run {left}{extra}"


def _tally(tally):
    return "{" + ", ".join(f"{k}: {v:,}" for k, v in sorted(tally.items())) + "}"


def _ops(stage):
    return ", ".join(f"{name} {count:,}" for name, count in sorted(stage.operations().items()))


def print_model(rows):
    """Cost = a constant per run + a part per reminder."""
    floor = rows[0][0]
    reads, writes, requests = floor.units(True), floor.units(False), len(floor.requests)
    print("\nCost = a constant per run (the run with nothing due) + a part per reminder:")
    print(
        f"  constant: {reads:g} read + {writes:g} write units, {requests} requests ({_ops(floor)})"
    )
    for stage, _ in rows[1:]:
        extra_reads = stage.units(True) - stage.runs * reads
        extra_writes = stage.units(False) - stage.runs * writes
        extra_requests = len(stage.requests) - stage.runs * requests
        cpu = (sum(stage.cpu) - stage.runs * sum(floor.cpu)) / stage.due * 1000
        parts = stage.parts()
        print(
            f"  {stage.due:>6,} due in {stage.runs} run(s): {stage.runs} x constant + per reminder "
            f"{extra_reads / stage.due:.3f} read + {extra_writes / stage.due:.2f} write units "
            f"(table {(parts['table'] - stage.runs * writes) / stage.due:.2f}, local indexes "
            f"{parts['LSI'] / stage.due:.2f}, reminder-index {parts['GSI'] / stage.due:.2f}), "
            f"{extra_requests / stage.due:.2f} requests, {cpu:.1f} ms of CPU in the scheduler"
        )


def print_floor(floor, stages):
    seconds = statistics.median(s.total_seconds for s in stages)
    reads, writes = billed_reads(floor), floor.units(False)
    print(
        f"\nThe every-minute floor: a run with nothing due takes {seconds * 1000:.0f} ms "
        f"(median of {len(stages)}) and costs {floor.units(True):g} read + {writes:g} write "
        f"units here, {reads:g} + {writes:g} as AWS bills an empty Query"
    )
    print(f"  per month ({RUNS_PER_MONTH:,} runs), us-east-1 on demand:")
    dynamodb = RUNS_PER_MONTH * (reads * READ_PRICE + writes * WRITE_PRICE) / 1e6
    lower = RUNS_PER_MONTH * (reads * READ_PRICE_NOV_2024 + writes * WRITE_PRICE_NOV_2024) / 1e6
    print(
        f"    DynamoDB  ${dynamodb:.4f}  at ${WRITE_PRICE}/M write and ${READ_PRICE}/M read units "
        f"(${lower:.4f} at ${WRITE_PRICE_NOV_2024} and ${READ_PRICE_NOV_2024})"
    )
    invocations = RUNS_PER_MONTH * LAMBDA_REQUEST_PRICE / 1e6
    print(f"    Lambda    ${invocations:.4f}  for the invocations at ${LAMBDA_REQUEST_PRICE}/M")
    for name in ("dev", "prod"):
        memory = SETTINGS[name]["memory_size"]
        duration = RUNS_PER_MONTH * seconds * memory / 1024 * LAMBDA_GB_SECOND
        print(
            f"              ${duration:.4f}  for the duration at {memory} MB ({name}), if a run "
            "takes as long there as here"
        )
        total = dynamodb + invocations + duration
        print(f"    total     ${total:.4f}  a month for {name}, before free tiers")


def print_first_run(stage):
    print(
        f"\nFirst run (no cursor, nothing due): it reads every minute of the catch-up window "
        f"({TestConfig().REMINDER_CATCHUP_SECONDS / 3600:g} h) in {stage.total_seconds:.2f} s"
    )
    print(
        f"  {_ops(stage)}; {stage.units(True):g} read + {stage.units(False):g} write units here, "
        f"{billed_reads(stage):g} read units as AWS bills empty Queries; "
        f"it did {_tally(stage.tallies[0])}"
    )
    for line in stage.complaints[:3]:
        print(f"  logged: {line[:150]}")


def main():
    started = time.perf_counter()
    with DynamoDBLocal() as database, MotoServer() as server:
        os.environ["AWS_ENDPOINT_URL_SESV2"] = server.endpoint
        moto = Moto(server)
        print(
            f"DynamoDB Local at {database.endpoint}, SES v2 on moto at {server.endpoint}; "
            f"Lambda timeout {TIMEOUT} s (runs stop taking reminders "
            f"{reminders.MARGIN_SECONDS:g} s before), {reminders.WORKERS} workers; "
            f"{os.cpu_count()} CPUs"
        )
        print_first_run(measure(database.endpoint, 0, moto, cursor=False))
        rows = [repeated(database.endpoint, due, moto) for due in SIZES]
        print_stages("Through SES v2 on moto (median of repetitions; wall s of all runs):", rows)
        print_model(rows)
        outbox = [repeated(database.endpoint, due, None) for due in OUTBOX_SIZES]
        print_stages("Into the outbox (.eml files), for comparison:", outbox)
        print_floor(*rows[0])
    print(f"\n(the benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
