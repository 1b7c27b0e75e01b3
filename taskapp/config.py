"""Settings read from the environment when the app is built."""

import os
import re

from .auth import AUTH_MODES

# DynamoDB's rule for table names.
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
# An email address as SES takes it for a sender: something@domain.
_ADDRESS = re.compile(r"[^@\s<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|[^@\s<>]+@localhost")
# An origin as a browser writes it, and as a Content-Security-Policy source may hold it.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; raised at start-up, not mid-request."""


class Config:
    """Settings for a deployed stage or a local run, read from the environment."""

    # flask-smorest: the OpenAPI document is served at /openapi.json.
    API_TITLE = "taskapp"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    # Swagger UI at /docs, its assets served by pages.py from a package (no CDN). Relative,
    # so that they resolve under a stage prefix too (/dev/docs/assets/...).
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "docs/assets/"

    # SPEC 3: bodies over 64 KiB are refused with a 413 before they are parsed.
    MAX_CONTENT_LENGTH = 64 * 1024

    # With auth off, every task belongs to this one owner (SPEC 7).
    LOCAL_OWNER = "local"

    def __init__(self):
        env = os.environ
        self.TABLE_NAME = env.get("TABLE_NAME", "")
        # Unset in the cloud: PynamoDB then talks to the region's real DynamoDB endpoint.
        self.DYNAMODB_ENDPOINT = env.get("DYNAMODB_ENDPOINT") or None
        self.AWS_REGION = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        # A bounded wait and retry budget, so that no request hangs toward Lambda's timeout:
        # DynamoDB answers in milliseconds, so a second try after a second of silence is
        # plenty; past that the client gets a 503 and retries itself.
        self.DYNAMODB_CONNECT_TIMEOUT = _number(env, "DYNAMODB_CONNECT_TIMEOUT", 1.0)
        self.DYNAMODB_READ_TIMEOUT = _number(env, "DYNAMODB_READ_TIMEOUT", 1.0)
        self.DYNAMODB_MAX_RETRIES = int(_number(env, "DYNAMODB_MAX_RETRIES", 1))
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO").upper()
        # SPEC 7: how callers are identified; see auth.py.
        self.AUTH_MODE = env.get("AUTH_MODE", "none")
        self.AUTH_ALLOW_NONE = env.get("AUTH_ALLOW_NONE", "").lower() == "true"
        self.AUTH_JWKS_URL = env.get("AUTH_JWKS_URL", "")
        self.AUTH_ISSUER = env.get("AUTH_ISSUER", "")
        self.AUTH_AUDIENCE = env.get("AUTH_AUDIENCE", "")
        self.AUTH_DEV_KEY = env.get("AUTH_DEV_KEY", os.path.join(".dev-keys", "dev-key.pem"))
        # Set by the Lambda runtime: this process serves a deployed stage, not a laptop.
        function = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.DEPLOYED = bool(function)
        # The stage: Zappa names the function <project>-<stage>.
        self.STAGE = env.get("STAGE") or (function.rpartition("-")[2] if function else "local")
        # The app's own metrics as embedded metric format lines (metrics.py): on in Lambda, and
        # wherever Zappa's handler runs the app (it sets SERVERTYPE), off under `make run`.
        behind_zappa = env.get("SERVERTYPE") == "AWS Lambda"
        self.METRICS = env.get("METRICS", str(self.DEPLOYED or behind_zappa)).lower() == "true"
        # X-Ray: each AWS call as a subsegment of Lambda's trace. The deploy hooks set it from
        # the stage's "xray_tracing", which also turns on Lambda's tracing (README: Tracing).
        self.TRACING = env.get("TRACING", "").lower() == "true"
        # SPEC 9: how long tombstones (and so sync tokens) last, and how long after its stamp a
        # write may still commit (more than the function's timeout): see store/feed.py.
        self.SYNC_RETENTION_SECONDS = _number(env, "SYNC_RETENTION_SECONDS", 30 * 24 * 3600)
        self.SYNC_SETTLE_SECONDS = _number(env, "SYNC_SETTLE_SECONDS", 60)
        # How many live tasks one owner may keep (Google Tasks' per-user limit).
        self.TASKS_PER_OWNER = int(_number(env, "TASKS_PER_OWNER", 100_000))
        origins = env.get("CORS_ORIGINS", "*")
        self.CORS_ORIGINS = "*" if origins.strip() == "*" else _split(origins)
        # SPEC 10: reminders. The SES sender of the stage; a folder that takes the emails as .eml
        # files instead (`make run`); how often make run's scheduler runs; how late a reminder
        # may still be sent.
        self.REMINDER_SENDER = env.get("REMINDER_SENDER", "").strip()
        self.REMINDER_OUTBOX = env.get("REMINDER_OUTBOX") or None
        self.REMINDER_POLL_SECONDS = _number(env, "REMINDER_POLL_SECONDS", 60)
        self.REMINDER_CATCHUP_SECONDS = _number(env, "REMINDER_CATCHUP_SECONDS", 24 * 3600)
        # Origins besides its own whose API the /app page may be pointed at (?api=), such as
        # another stage's; the page's Content-Security-Policy lets it talk to these only.
        self.APP_API_ORIGINS = _split(env.get("APP_API_ORIGINS", ""))

    def validate(self):
        for origin in self.APP_API_ORIGINS:
            if not _ORIGIN.fullmatch(origin):
                raise ConfigError(
                    f"APP_API_ORIGINS holds {origin!r}, which is not an origin such as "
                    "https://api.example.com (a scheme, a host and maybe a port; no path)."
                )
        if self.REMINDER_SENDER and not _ADDRESS.fullmatch(self.REMINDER_SENDER):
            raise ConfigError(
                f"REMINDER_SENDER is {self.REMINDER_SENDER!r}, which is not an email address "
                "such as reminders@example.com."
            )
        if self.REMINDER_POLL_SECONDS <= 0 or self.REMINDER_CATCHUP_SECONDS <= 0:
            raise ConfigError("REMINDER_POLL_SECONDS and REMINDER_CATCHUP_SECONDS must be above 0.")
        if self.TASKS_PER_OWNER < 1:
            raise ConfigError("TASKS_PER_OWNER must be at least 1.")
        if self.SYNC_SETTLE_SECONDS <= 0 or self.SYNC_RETENTION_SECONDS <= 0:
            raise ConfigError("SYNC_SETTLE_SECONDS and SYNC_RETENTION_SECONDS must be above 0.")
        if not self.TABLE_NAME:
            raise ConfigError(
                "TABLE_NAME is not set: it must name the stage's DynamoDB table "
                "(`make run` sets it to taskapp-local)."
            )
        if not _TABLE_NAME.fullmatch(self.TABLE_NAME):
            raise ConfigError(
                f"TABLE_NAME {self.TABLE_NAME!r} is not a DynamoDB table name: 3 to 255 letters, "
                "digits, '_', '-' or '.'."
            )
        if self.AUTH_MODE not in AUTH_MODES:
            raise ConfigError(
                f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {self.AUTH_MODE!r}."
            )
        if self.AUTH_MODE == "none" and self.DEPLOYED and not self.AUTH_ALLOW_NONE:
            raise ConfigError(
                "AUTH_MODE=none serves every caller as one owner: a deployed stage refuses it "
                "unless AUTH_ALLOW_NONE=true says so."
            )
        if self.AUTH_MODE == "jwt":
            for name in ("AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"):
                if not getattr(self, name):
                    raise ConfigError(f"{name} is not set: AUTH_MODE=jwt needs it.")
            if self.AUTH_JWKS_URL.startswith("http://"):
                raise ConfigError("AUTH_JWKS_URL must be an https URL or a file path.")


class TestConfig(Config):
    """Settings for the test suite: a table of its own on moto or on DynamoDB Local."""

    TESTING = True
    __test__ = False  # a settings class, not a pytest test class

    def __init__(self, table_name="taskapp-test", endpoint=None):
        super().__init__()
        self.TABLE_NAME = table_name
        self.DYNAMODB_ENDPOINT = endpoint
        self.AWS_REGION = "us-east-1"
        self.CORS_ORIGINS = "*"
        self.AUTH_MODE = "none"
        self.DEPLOYED = False
        self.METRICS = False


def _number(env, name, default):
    value = env.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}.") from None


def _split(value):
    return [item.strip() for item in value.split(",") if item.strip()]
