"""Pages for people: Swagger UI at /docs (assets from the swagger-ui-bundle package, so it
works with no internet) and /app, a small task page that calls the API from any origin."""

from flask import Blueprint, current_app, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("pages", __name__)


@blp.get("/docs/assets/<path:filename>")
def docs_asset(filename):
    """Swagger UI's scripts and styles, as the /docs page of flask-smorest asks for them."""
    return send_from_directory(swagger_ui_path, filename)


@blp.get("/app")
def task_page():
    """The task page: ?api=ORIGIN points it at an API on another origin."""
    return send_from_directory(current_app.static_folder, "app.html")
