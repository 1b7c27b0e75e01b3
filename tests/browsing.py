"""The task page in a real browser: Debian's Chromium, headless, driven by Playwright.

The page comes from one origin (http://localhost:P1) and calls the API on another
(http://127.0.0.1:P2), both served by the same app, whose APP_API_ORIGINS names the second.
"""

import re
import shutil
from pathlib import Path

from playwright.sync_api import expect

from tests.servers import AppServer, call

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and quiet: this machine's network is closed, so no background connections.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1100, "height": 800}
PHONE = {"width": 390, "height": 844}


class Stage:
    """One app behind two servers: the page's origin and the API's."""

    def __init__(self, app):
        self.app = app
        self.site = AppServer(app)
        self.api_server = AppServer(app)
        self.origin = self.site.base.replace("127.0.0.1", "localhost")
        self.api = self.api_server.base

    def __enter__(self):
        self.site.__enter__()
        self.api_server.__enter__()
        self.app.config["APP_API_ORIGINS"] = [self.api]
        return self

    def __exit__(self, *exc):
        self.api_server.__exit__(*exc)
        self.site.__exit__(*exc)

    def url(self, poll=0.3):
        """The page, pointed at the API, polling the change feed every ``poll`` seconds."""
        return f"{self.origin}/app?api={self.api}&poll={poll}"

    def call(self, method, path, body=None, headers=None, token=None):
        headers = (headers or {}) | (bearer(token) if token else {})
        status, answer = call(self.api, method, path, body, headers)
        assert status < 300, answer
        return answer

    def create(self, title, token=None, **fields):
        return self.call("POST", "/tasks", {"title": title, **fields}, token=token)["task"]

    def tasks(self):
        """Every task on the server, by title."""
        tasks = self.call("GET", "/tasks?limit=100")["tasks"]
        return {task["title"]: task for task in tasks}


def task(page, title):
    """The list item of the task named ``title``, found as a screen reader finds it."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("checkbox", name=title))


def open_page(page, url):
    """Open the page and wait until it has synced and its service worker holds its files."""
    page.goto(url)
    expect(page.locator("#connection")).to_have_text("All changes saved")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")


def all_saved(page):
    expect(page.locator("#connection")).to_have_text("All changes saved")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def mint(app, user, email=None):
    """A bearer token for ``user`` from the project's own `flask dev-token` (AUTH_MODE=none
    trusts it); with ``email``, the token carries it as verified."""
    args = ["dev-token", user, *(["--email", email] if email else [])]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def sign_in(page, token):
    """Paste ``token`` under "Sign in"; the page reloads as that account and syncs."""
    page.locator("summary", has_text="Sign in").click()
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#account-summary")).to_have_text(re.compile(r"^Signed in"))
