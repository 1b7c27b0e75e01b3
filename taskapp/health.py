"""GET /health: whether the stage answers and its table with it, and which release it runs.

No credentials (behind API Gateway, the stage's API key, like every route). The release is the
git commit that `make package` wrote into the package as taskapp/RELEASE; a working copy without
one reports what git says, once, or "unknown".
"""

import subprocess
from functools import cache
from pathlib import Path

from flask import current_app
from marshmallow import Schema, fields

from . import store
from .extensions import Blueprint
from .logging import log_error

RELEASE_FILE = Path(__file__).with_name("RELEASE")

blp = Blueprint("health", __name__, description="Whether the stage is up.")


class HealthSchema(Schema):
    status = fields.String(metadata={"enum": ["ok", "unavailable"]})
    version = fields.String(metadata={"description": "The release (git commit) the stage runs."})
    dynamodb = fields.String(
        metadata={
            "enum": ["ok", "unavailable"],
            "description": "Whether a read of the table answered.",
        }
    )
    error = fields.String(metadata={"description": "What is wrong, when status is unavailable."})


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema, example={"status": "ok", "version": "1f0c2ab", "dynamodb": "ok"})
@blp.alt_response(
    503,
    schema=HealthSchema,
    description="DynamoDB did not answer a cheap read of the table (details in the log line).",
    example={
        "status": "unavailable",
        "version": "1f0c2ab",
        "dynamodb": "unavailable",
        "error": "The table did not answer",
    },
)
@blp.doc(operationId="getHealth", security=[])
def health():
    """Liveness: 200 when the stage and its table answer, 503 when the table does not."""
    answer = {"status": "ok", "version": release(), "dynamodb": "ok"}
    try:
        store.ping()
    except (store.StoreUnavailable, store.StoreMisconfigured) as error:
        # The sentence may name the table and region: for the log, not for any caller.
        log_error(f"Health check failed: {error or 'DynamoDB did not answer'}", error, False)
        unavailable = {"status": "unavailable", "dynamodb": "unavailable"}
        return answer | unavailable | {"error": "The table did not answer"}, 503
    return answer


@cache
def release() -> str:
    if RELEASE_FILE.exists():
        return RELEASE_FILE.read_text().strip()
    return git_release(Path(current_app.root_path)) or "unknown"


def git_release(folder: Path) -> str | None:
    """The commit checked out in ``folder`` (with -dirty if files differ), or None."""
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None
