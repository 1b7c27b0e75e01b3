"""The WSGI entry point: `flask --app wsgi run` locally, zappa's app_function "wsgi.app"."""

from taskapp import cli, create_app
from taskapp.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # Raises again unless `flask` is only listing or looking up commands (see cli.py).
    app = cli.app_for_commands(error)


def send_reminders(event, context):
    """The scheduled function (zappa_settings.json "events", every minute; `make run` calls it
    too): email the reminders that are due (taskapp/reminders.py)."""
    from taskapp import reminders  # only the schedule needs it, not a request's cold start

    reminders.run(app, context)
