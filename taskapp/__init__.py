"""taskapp: a task-management REST API, one Flask app for `flask run` and AWS Lambda."""

from flask import Flask
from flask_cors import CORS

from . import apidoc, auth, cli, health, logging, metrics, models, pages, store, tasks
from .config import Config
from .errors import register_errorhandlers
from .extensions import CORS_OPTIONS, Api, TaskIdConverter, bound_streamed_body, secure_headers


def create_app(config=None):
    """Build the app from ``config`` (by default the environment's settings)."""
    config = config or Config()
    config.validate()
    app = Flask(__name__)
    app.config.from_object(config)
    app.json.sort_keys = False

    logging.init_app(app)
    if app.config["TRACING"]:
        # At class level, so every botocore client (PynamoDB's, SES's) is traced; only when the
        # stage traces: the SDK adds about 17 ms to a cold start.
        from aws_xray_sdk.core import patch

        patch(("botocore",))
    metrics.init_app(app)
    models.configure(app.config)
    store.configure(app.config)
    auth.init_app(app)
    register_extensions(app)
    register_errorhandlers(app)
    app.before_request(bound_streamed_body)
    app.after_request(secure_headers)
    app.cli.add_command(cli.create_table)
    app.cli.add_command(cli.dev_token)
    app.cli.add_command(cli.migrate_table)
    return app


def register_extensions(app):
    api = Api(app)
    api.register_converter(TaskIdConverter, TaskIdConverter.schema)
    app.url_map.converters["task_id"] = TaskIdConverter
    api.describe(apidoc.document_components)
    api.register_blueprint(tasks.blp)
    api.register_blueprint(health.blp)
    app.register_blueprint(pages.blp)
    origins = app.config["CORS_ORIGINS"]
    # "*" is answered as "*" (not an echo of the Origin), so shared caches need no Vary.
    CORS(app, origins=origins, send_wildcard=origins == "*", **CORS_OPTIONS)
