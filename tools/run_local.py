"""`make run`: serve the API on http://127.0.0.1:$PORT (5000) with a table to serve from.

Starts DynamoDB Local with its data in .dynamodb/ (so tasks survive a restart) unless
DYNAMODB_ENDPOINT names a DynamoDB already, runs `flask create-table`, then serves the app
(as `flask run` would) until Ctrl-C or SIGTERM, and stops what it started. If that DynamoDB
Local dies meanwhile, the server stops too, with a sentence, rather than answer 503s.

It also runs the reminder scheduler, the function that Zappa schedules in AWS, every
REMINDER_POLL_SECONDS (60), with the emails written as .eml files into REMINDER_OUTBOX
(.outbox/ unless set).

`make migrate FROM=OLD TO=NEW` (`run_local.py migrate OLD NEW`): the same database, and
`flask migrate-table --from OLD --to NEW` instead of the server.
"""

import os
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.dynamodb_local import ROOT, DynamoDBLocal, stop_on_signals  # noqa: E402

# How often the server checks that its DynamoDB Local still runs.
WATCH_SECONDS = 0.5


def main(args):
    # SIGTERM and SIGHUP end the run as Ctrl-C does: everything stopped, exit status 0.
    stop_on_signals()
    try:
        return run(args)
    except KeyboardInterrupt:
        return 0


def run(args):
    migrating = args[:1] == ["migrate"]
    if migrating and (len(args) != 3 or not all(args[1:])):
        print(
            "migrate needs the old and the new table: make migrate FROM=taskapp-local "
            "TO=taskapp-local-2.",
            file=sys.stderr,
        )
        return 2
    os.chdir(ROOT)
    env = os.environ  # the server runs in this process; the flask commands inherit it
    if migrating:
        env["TABLE_NAME"] = args[2]
    env.setdefault("TABLE_NAME", "taskapp-local")
    env.setdefault("FLASK_APP", "wsgi")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("REMINDER_OUTBOX", str(ROOT / ".outbox"))
    database = None
    try:
        if not env.get("DYNAMODB_ENDPOINT"):
            port = int(env.get("DYNAMODB_LOCAL_PORT", "8000"))
            data = env.get("DYNAMODB_DATA_DIR", str(ROOT / ".dynamodb"))
            database = DynamoDBLocal(port, data, log=os.path.join(data, "dynamodb-local.log"))
            print(f"Starting DynamoDB Local on {database.endpoint} (data in {data})", flush=True)
            try:
                database.start()
            except RuntimeError as error:
                print(error, file=sys.stderr)
                return 1
            env["DYNAMODB_ENDPOINT"] = database.endpoint
            # DynamoDB Local accepts any credentials, but botocore wants some.
            env.setdefault("AWS_ACCESS_KEY_ID", "local")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        flask = [sys.executable, "-m", "flask"]
        if migrating:
            return subprocess.run(
                [*flask, "migrate-table", "--from", args[1], "--to", args[2]]
            ).returncode
        # It ends in one sentence (on stderr) when the table cannot be made or checked.
        created = subprocess.run([*flask, "create-table"]).returncode
        if created != 0:
            return created
        return serve(int(env.get("PORT", "5000")), database)
    finally:
        if database is not None:
            database.stop()


def serve(port, database):
    """The app on 127.0.0.1:``port`` until interrupted, or until ``database`` stops by itself."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from wsgi import app, send_reminders

    class RequestHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            pass  # the app logs every request already, as one JSON line

    try:
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=RequestHandler)
    except OSError as error:
        print(f"Cannot serve on 127.0.0.1:{port} ({error.strerror}): set PORT.", file=sys.stderr)
        return 1
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"Serving http://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
    stopping = threading.Event()
    every = app.config["REMINDER_POLL_SECONDS"]
    threading.Thread(target=schedule, args=(send_reminders, every, stopping), daemon=True).start()
    print(f"Reminder emails go to {app.config['REMINDER_OUTBOX']} (every {every:g} s)", flush=True)
    try:
        while database is None or database.exited() is None:
            time.sleep(WATCH_SECONDS)
        print(
            f"DynamoDB Local stopped (exit status {database.exited()}, log in {database.log}), "
            "so the server stopped too: run it again.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()


def schedule(function, every, stopping):
    """Call ``function`` as Zappa's schedule does, every ``every`` seconds, until ``stopping``."""
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "resources": []}
    while not stopping.is_set():
        started = time.monotonic()
        try:
            function(event, None)
        except Exception:  # noqa: BLE001 - a failed run is logged; the next one comes anyway
            traceback.print_exc()
        stopping.wait(max(0.0, every - (time.monotonic() - started)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
