"""A real browser (Debian's Chromium, headless, driven by Playwright) on the task page.

The page is served from one origin and calls the API on another, so every write goes
through CORS, preflights included. Screenshots of /docs and of the page are saved in
artifacts/ (git-ignored) for a person to look at.
"""

import shutil
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import drop_table, make_app
from tests.servers import AppServer, call
from tools.dynamodb_local import free_port

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


def recording(app, answers):
    """The app, noting each answer it gives and the request it answers."""

    def wsgi(environ, start_response):
        def start(status, headers, exc_info=None):
            answers.append(
                {
                    "request": (environ["REQUEST_METHOD"], environ["PATH_INFO"]),
                    "origin": environ.get("HTTP_ORIGIN"),
                    "status": int(status.split()[0]),
                    "headers": {name.lower() for name, _ in headers},
                }
            )
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wsgi


def test_the_page_is_refused_by_an_api_that_does_not_allow_its_origin(page, dynamodb_local):
    allowed = "https://elsewhere.example.com"
    app = make_app(dynamodb_local, CORS_ORIGINS=[allowed])
    answers = []
    try:
        with AppServer(app) as site, AppServer(recording(app, answers)) as api_server:
            page_origin = site.base.replace("127.0.0.1", "localhost")
            cors_error = page.expect_console_message(lambda m: "blocked by CORS policy" in m.text)
            with cors_error, page.expect_event("requestfailed") as failed:
                page.goto(f"{page_origin}/app?api={api_server.base}")
            expect(page.locator("#message")).to_contain_text("Cannot reach the API")
            # The API is up, and answers an origin it allows with the header the page lacked.
            request = Request(api_server.base + "/tasks", headers={"Origin": allowed})
            with urlopen(request, timeout=30) as response:
                assert response.headers["Access-Control-Allow-Origin"] == allowed
    finally:
        drop_table(app)

    # The page's request reached the API and was answered, but without the header that lets
    # the page read the answer: the browser kept it from the page, not an outage.
    (answer,) = [answer for answer in answers if answer["origin"] == page_origin]
    assert (answer["request"], answer["status"]) == (("GET", "/tasks"), 200)
    assert "access-control-allow-origin" not in answer["headers"]
    assert failed.value.url == f"{api_server.base}/tasks?limit=100"
    assert failed.value.failure == "net::ERR_FAILED"


def test_an_api_that_is_down_is_told_apart_from_a_refusal(page, api_app):
    """The page cannot tell them apart: its fetch rejects with the same TypeError ("Failed to
    fetch") either way, so it shows the same message. The browser's network layer can."""
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    console = []
    page.on("console", lambda message: console.append(message.text))
    with AppServer(api_app) as site:
        with page.expect_event("requestfailed") as failed:
            page.goto(site.base.replace("127.0.0.1", "localhost") + f"/app?api={down}")
        expect(page.locator("#message")).to_contain_text("Cannot reach the API")

    assert failed.value.url == f"{down}/tasks?limit=100"
    assert failed.value.failure == "net::ERR_CONNECTION_REFUSED"
    assert not any("CORS" in text for text in console)


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
