"""A real browser (Debian's Chromium, headless, driven by Playwright) on the task page.

The page is served from one origin and calls the API on another, so every write goes
through CORS, preflights included. Screenshots of /docs and of the page are saved in
artifacts/ (git-ignored) for a person to look at.
"""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import drop_table, make_app
from tests.servers import AppServer, call

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
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


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 700})
    yield context.new_page()
    context.close()


@pytest.fixture
def api_app(dynamodb_local):
    app = make_app(dynamodb_local)
    yield app
    drop_table(app)


def api(base, method, path, body=None):
    status, answer = call(base, method, path, body)
    assert status < 300, answer
    return answer


def test_a_person_manages_tasks_from_another_origin(page, api_app):
    with AppServer(api_app) as site, AppServer(api_app) as api_server:
        # Two origins: the page from localhost, the API from 127.0.0.1.
        page_url = site.base.replace("127.0.0.1", "localhost") + f"/app?api={api_server.base}"
        page.goto(page_url)
        tasks = page.locator("#tasks li")
        expect(page.locator("#origin")).to_contain_text(api_server.base)
        expect(tasks).to_have_count(0)

        page.fill("#new-title", "Buy milk")
        page.click("button[type=submit]")
        expect(tasks).to_have_count(1)
        expect(tasks.first.locator(".title")).to_have_text("Buy milk")
        (task,) = api(api_server.base, "GET", "/tasks")["tasks"]
        assert task["title"] == "Buy milk"

        tasks.first.locator("input[name=completed]").check()
        expect(tasks.first).to_have_class("completed")
        assert api(api_server.base, "GET", "/tasks")["tasks"][0]["status"] == "completed"

        tasks.first.locator("button[name=edit]").click()
        tasks.first.locator("input[name=title]").fill("Buy oat milk")
        tasks.first.locator("button[name=save]").click()
        expect(tasks.first.locator(".title")).to_have_text("Buy oat milk")
        stored = api(api_server.base, "GET", f"/tasks/{task['taskId']}")["task"]
        assert (stored["title"], stored["version"]) == ("Buy oat milk", 3)

        # Someone else changes the task: the page's edit names an old ETag and is refused.
        api(api_server.base, "PATCH", f"/tasks/{task['taskId']}", {"title": "Changed elsewhere"})
        tasks.first.locator("button[name=edit]").click()
        tasks.first.locator("input[name=title]").fill("Lost update?")
        tasks.first.locator("button[name=save]").click()
        expect(page.locator("#message")).to_contain_text("Changed elsewhere")
        expect(tasks.first.locator(".title")).to_have_text("Changed elsewhere")
        assert api(api_server.base, "GET", f"/tasks/{task['taskId']}")["task"]["version"] == 4

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "app.png", full_page=True)

        tasks.first.locator("button[name=delete]").click()
        expect(tasks).to_have_count(0)
        assert api(api_server.base, "GET", "/tasks")["count"] == 0


def test_the_page_is_refused_by_an_api_that_does_not_allow_its_origin(page, dynamodb_local):
    app = make_app(dynamodb_local, CORS_ORIGINS=["https://elsewhere.example.com"])
    try:
        with AppServer(app) as site, AppServer(app) as api_server:
            page.goto(site.base.replace("127.0.0.1", "localhost") + f"/app?api={api_server.base}")
            expect(page.locator("#message")).to_contain_text("Cannot reach the API")
    finally:
        drop_table(app)


def test_the_docs_render_every_operation_offline(page, api_app):
    with AppServer(api_app) as site:
        external = []
        page.on("request", lambda r: external.append(r.url) if "127.0.0.1" not in r.url else None)
        page.goto(site.base + "/docs")
        operations = page.locator(".opblock")
        expect(operations).to_have_count(7)  # six on tasks, one change feed
        for method in ("get", "post", "put", "patch", "delete"):
            expect(page.locator(f".opblock-{method}").first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "docs.png", full_page=True)
    assert external == []
