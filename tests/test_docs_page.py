"""/docs: Swagger UI from this API's own assets, under a policy that lets nothing else in."""

import base64
import hashlib
import re

import pytest
from playwright.sync_api import expect

from taskapp.pages import DOCS_ASSETS
from tests.servers import AppServer


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = (part.split() for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: sources for name, *sources in directives}


def test_the_docs_page_asks_only_for_the_assets_that_are_served(moto_client):
    page = moto_client.get("/docs").text

    asked = set(re.findall(r'(?:src|href)="docs/assets/([^"]+)"', page))
    assert asked == DOCS_ASSETS
    for asset in asked:
        with moto_client.get(f"/docs/assets/{asset}") as response:
            assert response.status_code == 200


@pytest.mark.parametrize(
    "asset",
    [
        "index.html",
        "oauth2-redirect.html",
        "index.j2",
        "swagger-initializer.js",
        "swagger-ui.js",
        "swagger-ui-bundle.js.map",
        "favicon-32x32.png",
        "nowhere.js",
    ],
)
def test_the_bundles_other_files_are_not_served(moto_client, asset):
    response = moto_client.get(f"/docs/assets/{asset}")

    assert response.status_code == 404
    assert response.json == {"error": "Resource not found"}


def test_the_docs_page_runs_only_its_own_scripts_and_is_never_framed(moto_client):
    response = moto_client.get("/docs")
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    hashes = {
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in inline
    }

    directives = policy(response)
    assert len(inline) == 1
    assert directives["default-src"] == ["'none'"]
    assert set(directives["script-src"]) == {"'self'"} | hashes
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_docs_render_under_their_policy(moto_app, browser):
    """Swagger UI draws every operation with nothing refused by the policy, and no error."""
    errors = []

    def console(message):
        # Chromium asks for /favicon.ico by itself; the API has none.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(message.text)

    with AppServer(moto_app) as site:
        page = browser.new_page()
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', event =>"
            " console.error(`refused by ${event.violatedDirective}: ${event.blockedURI}`))"
        )
        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(site.base + "/docs")
        expect(page.locator(".opblock")).to_have_count(8)  # six on tasks, the change feed, health
        page.locator(".opblock-summary").first.click()  # an operation opens: schemas render
        expect(page.locator(".opblock-body").first).to_be_visible()
        page.close()

    assert errors == []
