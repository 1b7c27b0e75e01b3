"""flask-smorest set up for SPEC.md: 400s in our error shape, JSON bodies whatever their type."""

import io
import json
import threading

import flask_smorest
from flask import current_app, request
from marshmallow import ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from .errors import UNKNOWN_PARAMETER, InvalidBody
from .schemas import ErrorSchema

CORS_OPTIONS = {
    "methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    "allow_headers": [
        "Content-Type",
        "Authorization",
        "X-Api-Key",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
    ],
    "expose_headers": ["ETag", "Location", "Idempotent-Replayed", "Retry-After", "X-Request-Id"],
    "max_age": 600,
}


def secure_headers(response):
    """Every answer: never sniffed into another type, never kept by a cache (it is per caller)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def bound_streamed_body():
    """A body streamed without Content-Length (chunked) over the size limit is a 413 too.

    werkzeug would stop reading it at the limit and hand the app what it read, cut short.
    Lambda's events always carry the whole body; this is for servers that stream.
    """
    environ = request.environ
    if request.content_length is not None or not environ.get("wsgi.input_terminated"):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream, body = environ["wsgi.input"], b""
    while len(body) <= limit and (chunk := stream.read(limit + 1 - len(body))):
        body += chunk
    if len(body) > limit:
        raise RequestEntityTooLarge
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


class TaskIdConverter(BaseConverter):
    """A taskId in a path: any segment but "changes", which names the change feed, so that
    /tasks/changes answers only GET (and 405 with its Allow to other methods)."""

    regex = r"(?!changes$)[^/]+"

    @staticmethod
    def schema(converter):
        """The path parameter as /openapi.json documents it."""
        return {"type": "string", "not": {"enum": ["changes"]}}


class Parser(FlaskParser):
    """Parses request bodies as JSON whatever their Content-Type says (SPEC.md section 2)."""

    DEFAULT_VALIDATION_STATUS = 400
    # Each schema's Meta says what it does with unknown names: the query schemas refuse them.
    DEFAULT_UNKNOWN_BY_LOCATION = FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION | {"query": None}

    def _raw_load_json(self, req):
        try:
            body = json.loads(req.get_data(cache=True))
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}: {error.msg}"
            raise InvalidBody(details={"body": [f"Not valid JSON at {where}"]}) from None
        except (ValueError, RecursionError):
            raise InvalidBody from None
        if not isinstance(body, dict):
            raise InvalidBody
        return body

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        # webargs files messages under their location ({"json": {...}}); clients see fields.
        ((location, messages),) = error.messages.items()
        if location == "query":
            messages = {name: _as_parameter(texts) for name, texts in messages.items()}
        raise ValidationError(messages) from error


def _as_parameter(messages):
    return [UNKNOWN_PARAMETER if text == "Unknown field." else text for text in messages]


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, whose alt_response and doc only document the view.

    flask-smorest's own wrap the view in a function that just calls it, to carry their part of
    the document: one more call, with an app-context lookup, in every request, per decorator.
    """

    ARGUMENTS_PARSER = Parser()

    def alt_response(self, *args, **kwargs):
        return _documenting(super().alt_response(*args, **kwargs))

    @staticmethod
    def doc(**kwargs):
        return _documenting(flask_smorest.Blueprint.doc(**kwargs))


def _documenting(decorator):
    """``decorator``'s part of the document, put on the view itself instead of a wrapper."""

    def document(view):
        view._apidoc = decorator(view)._apidoc
        return view

    return document


class Api(flask_smorest.Api):
    """flask-smorest's Api, whose OpenAPI document is written when it is first read.

    flask-smorest describes a blueprint's views when it registers them, which a cold start would
    pay for before its first request (about 30 ms) though only /openapi.json, /docs and the
    `flask openapi` commands read the document. Here registering only routes the views, and
    ``describe`` queues what writes into the document; reading ``spec`` writes what is queued.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, **options):
        self._spec, self._undescribed = None, []
        # A server's threads may read the document at once: one writes it, the others wait.
        self._describing = threading.RLock()
        super().__init__(app, **options)

    @property
    def spec(self):
        with self._describing:
            undescribed, self._undescribed = self._undescribed, []
            for describe in undescribed:
                describe(self._spec)
        return self._spec

    @spec.setter
    def spec(self, spec):
        self._spec = spec

    def describe(self, write):
        """Have ``write(spec)`` write into the document before it is first read."""
        self._undescribed.append(write)

    def register_blueprint(self, blp, *, parameters=None, **options):
        # What flask-smorest's register_blueprint does, its documenting deferred.
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)

        def write(spec):
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})

        self.describe(write)
