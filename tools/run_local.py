"""`make run`: serve the API on http://127.0.0.1:$PORT (5000) with a table to serve from.

Starts DynamoDB Local with its data in .dynamodb/ (so tasks survive a restart) unless
DYNAMODB_ENDPOINT names a DynamoDB already, creates the table if it is missing, then runs
`flask run` until interrupted, and stops what it started.

`make migrate FROM=OLD TO=NEW` (`run_local.py migrate OLD NEW`): the same database, and
`flask migrate-table --from OLD --to NEW` instead of the server.
"""

import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.dynamodb_local import ROOT, DynamoDBLocal  # noqa: E402


def main(args):
    env = dict(os.environ)
    if args[:1] == ["migrate"]:
        source, target = args[1:3]
        env["TABLE_NAME"] = target
    env.setdefault("TABLE_NAME", "taskapp-local")
    env.setdefault("FLASK_APP", "wsgi")
    database = None
    if not env.get("DYNAMODB_ENDPOINT"):
        port = int(env.get("DYNAMODB_LOCAL_PORT", "8000"))
        data = env.get("DYNAMODB_DATA_DIR", str(ROOT / ".dynamodb"))
        database = DynamoDBLocal(port, data, log=os.path.join(data, "dynamodb-local.log"))
        print(f"Starting DynamoDB Local on {database.endpoint} (data in {data})", flush=True)
        database.start()
        env["DYNAMODB_ENDPOINT"] = database.endpoint
        # DynamoDB Local accepts any credentials, but botocore wants some.
        env.setdefault("AWS_ACCESS_KEY_ID", "local")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    flask = [sys.executable, "-m", "flask"]
    try:
        if args[:1] == ["migrate"]:
            command = [*flask, "migrate-table", "--from", source, "--to", target]
            return subprocess.run(command, env=env, cwd=ROOT).returncode
        subprocess.run([*flask, "create-table"], env=env, check=True, cwd=ROOT)
        port = env.get("PORT", "5000")
        server = subprocess.Popen(
            [*flask, "run", "--host", "127.0.0.1", "--port", port], env=env, cwd=ROOT
        )
        # Stop cleanly on SIGTERM as on Ctrl-C, so DynamoDB Local never outlives the server.
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.terminate()
            return server.wait()
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        if database is not None:
            database.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
