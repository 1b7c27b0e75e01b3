"""Pages for people: what this API is at /, Swagger UI at /docs (assets from the
swagger-ui-bundle package, so it works with no internet) and /app, the offline-first task page
(taskapp/static/app.js), which calls this API or one on an origin the stage allows."""

import base64
import hashlib
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("pages", __name__)

# The files flask-smorest's swagger_ui.html asks for; the bundle's other files (its own
# index.html, which loads the petstore, oauth2-redirect.html, a template, source maps) are
# neither served nor shipped (deploy/hooks.py).
DOCS_ASSETS = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}
)
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@blp.get("/")
def index():
    """Where someone who opens the API's address finds its name, version and documentation."""
    config = current_app.config
    return {
        "name": config["API_TITLE"],
        "version": config["API_VERSION"],
        "docs": url_for("api-docs.openapi_swagger_ui", _external=True),
        "openapi": url_for("api-docs.openapi_json", _external=True),
        "app": url_for("pages.task_page", _external=True),
    }


@blp.get("/docs/assets/<path:filename>")
def docs_asset(filename):
    """Swagger UI's scripts and styles, as the /docs page of flask-smorest asks for them."""
    if filename not in DOCS_ASSETS:
        abort(404)
    return send_from_directory(swagger_ui_path, filename)


# What the task page is made of: the page, its files in static/, and its service worker.
APP_ENDPOINTS = frozenset({"pages.task_page", "pages.service_worker", "static"})


@blp.get("/app")
def task_page():
    """The task page: ?api=URL points it at an API on an origin that APP_API_ORIGINS allows."""
    return render_template("app.html", api_origins=current_app.config["APP_API_ORIGINS"])


@blp.get("/sw.js")
def service_worker():
    """The task page's service worker, at the stage's root so that its scope covers /app."""
    return send_from_directory(current_app.static_folder, "sw.js")


@blp.after_app_request
def protect_app(response):
    """/app runs its own files only, talks to this API and the allowed ones only, and is never
    framed; its worker and its files carry the same policy."""
    if request.endpoint not in APP_ENDPOINTS:
        return response
    connect = " ".join(["'self'", *current_app.config["APP_API_ORIGINS"]])
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src {connect}; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    return response


@blp.after_app_request
def protect_docs(response):
    """/docs runs its own scripts and styles only, talks to this API only, and is never framed.

    The page's inline script carries the spec's URL, which depends on the stage's prefix, so
    its hash is taken from the page as it was rendered.
    """
    if request.endpoint != DOCS_ENDPOINT:
        return response
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(response.get_data(as_text=True))
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    return response
