"""The WSGI entry point: `flask --app wsgi run` locally, zappa's app_function "wsgi.app"."""

from taskapp import create_app

app = create_app()
