"""flask-smorest set up for SPEC.md: 400s in our error shape, JSON bodies whatever their type."""

import json

import flask_smorest
from marshmallow import ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter

from .errors import InvalidBody
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
    "expose_headers": ["ETag", "Location"],
    "max_age": 600,
}


def secure_headers(response):
    """Every answer: never sniffed into another type, never kept by a cache (it is per caller)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


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

    def _raw_load_json(self, req):
        try:
            body = json.loads(req.get_data(cache=True))
        except (ValueError, RecursionError):
            raise InvalidBody from None
        if not isinstance(body, dict):
            raise InvalidBody
        return body

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        # webargs files messages under their location ({"json": {...}}); clients see fields.
        (messages,) = error.messages.values()
        raise ValidationError(messages) from error


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
