"""One JSON log line per request, readable in `zappa tail` (SPEC.md section 6).

Lines go to stdout through a logger of their own, so they show whatever level the
Lambda runtime or Zappa give the root logger, and never carry headers or bodies. Every
response carries its line's request id as X-Request-Id, which a user can quote.
"""

import json
import logging
import sys
import time
import uuid

from flask import g, request

logger = logging.getLogger("taskapp.requests")


def init_app(app):
    if not any(getattr(handler, "taskapp", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.taskapp = True
        logger.addHandler(handler)
    logger.setLevel(app.config["LOG_LEVEL"])
    logger.propagate = False
    access = logging.getLogger("werkzeug")
    if not any(isinstance(f, _WithoutAccessLines) for f in access.filters):
        access.addFilter(_WithoutAccessLines())
    app.before_request(_start_clock)
    app.after_request(_log_request)


class _WithoutAccessLines(logging.Filter):
    """`flask run` logs each request in werkzeug's format too: the JSON line says it all."""

    def filter(self, record):
        return " - - [" not in str(record.msg)


def request_id():
    """The id that ties a response to its log lines: API Gateway's request id behind API
    Gateway (the one its own logs and a client's report show), else Lambda's, else a new one."""
    if "request_id" not in g:
        event = request.environ.get("lambda.event") or {}
        context = request.environ.get("lambda.context")
        g.request_id = (
            (event.get("requestContext") or {}).get("requestId")
            or getattr(context, "aws_request_id", None)
            or uuid.uuid4().hex
        )
    return g.request_id


def log_error(message, error, traceback=True):
    """An error: its JSON line, then (unless it is explained already) its traceback."""
    fields = {"message": message, "requestId": request_id()}
    if not traceback:
        fields["cause"] = repr(error.__cause__ or error)
    logger.error(_line(**fields), exc_info=error if traceback else None)


def log_event(message, level="info", **fields):
    """A JSON line for work outside a request (the reminder scheduler); None fields are left
    out."""
    line = _line(
        message=message, **{name: value for name, value in fields.items() if value is not None}
    )
    logger.log(logging.getLevelName(level.upper()), line)


def _start_clock():
    g.started = time.perf_counter()


def _log_request(response):
    started = g.get("started")
    latency = None if started is None else round((time.perf_counter() - started) * 1000, 2)
    logger.info(
        _line(
            method=request.method,
            path=request.path,
            status=response.status_code,
            latencyMs=latency,
            requestId=request_id(),
        )
    )
    response.headers["X-Request-Id"] = request_id()
    return response


def _line(**fields):
    return json.dumps(fields, separators=(",", ":"))
