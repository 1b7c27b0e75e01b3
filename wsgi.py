"""The WSGI entry point: `flask --app wsgi run` locally, zappa's app_function "wsgi.app"."""

from taskapp import cli, create_app
from taskapp.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # Raises again unless `flask` is only listing or looking up commands (see cli.py).
    app = cli.app_for_commands(error)
