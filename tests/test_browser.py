"""A real browser (Debian's Chromium, headless, driven by Playwright) on the task page.

The page is served from one origin and calls the API on another, so every write goes
through CORS, preflights included. Screenshots of /docs and of the page are saved in
artifacts/ (git-ignored) for a person to look at.
"""

from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect

from tests.browsing import ARTIFACTS, Stage, all_saved, open_page, task
from tests.conftest import drop_table, make_app
from tests.servers import AppServer
from tools.dynamodb_local import free_port


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 700})
    yield context.new_page()
    context.close()


def test_a_person_manages_tasks_from_another_origin(page, api_app):
    with Stage(api_app) as stage:
        # The feed is polled rarely here, so that the page has not yet seen the change made
        # elsewhere when the person edits the task.
        open_page(page, stage.url(poll=60))
        tasks = page.locator("#tasks li")
        expect(page.locator("#origin")).to_contain_text(stage.api)
        expect(tasks).to_have_count(0)

        page.get_by_role("textbox", name="New task").fill("Buy milk")
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("checkbox", name="Buy milk")).not_to_be_checked()
        all_saved(page)
        (stored,) = stage.call("GET", "/tasks")["tasks"]
        assert stored["title"] == "Buy milk"

        page.get_by_role("checkbox", name="Buy milk").check()
        expect(tasks.first).to_have_class("completed")
        all_saved(page)
        assert stage.call("GET", "/tasks")["tasks"][0]["status"] == "completed"

        task(page, "Buy milk").get_by_role("button", name="Edit").click()
        page.get_by_label("Title", exact=True).fill("Buy oat milk")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("checkbox", name="Buy oat milk")).to_be_checked()
        all_saved(page)
        path = f"/tasks/{stored['taskId']}"
        stored = stage.call("GET", path)["task"]
        assert (stored["title"], stored["version"]) == ("Buy oat milk", 3)

        # Someone else changes the task: the page's edit names an old ETag and is refused,
        # and the person sees both versions.
        stage.call("PATCH", path, {"title": "Changed elsewhere"})
        task(page, "Buy oat milk").get_by_role("button", name="Edit").click()
        page.get_by_label("Title", exact=True).fill("Lost update?")
        page.get_by_role("button", name="Save").click()
        conflict = page.get_by_role("region", name='"Changed elsewhere" was changed elsewhere')
        expect(conflict).to_contain_text("Lost update?")
        expect(page.locator("#message")).to_contain_text("choose which version to keep")
        assert stage.call("GET", path)["task"]["version"] == 4
        conflict.get_by_role("button", name="Keep theirs").click()
        expect(tasks.first.locator(".title")).to_have_text("Changed elsewhere")
        all_saved(page)

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "app.png", full_page=True)

        task(page, "Changed elsewhere").get_by_role("button", name="Delete").click()
        expect(tasks).to_have_count(0)
        all_saved(page)
        assert stage.call("GET", "/tasks")["count"] == 0


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
            app.config["APP_API_ORIGINS"] = [api_server.base]
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
    assert (answer["request"], answer["status"]) == (("GET", "/tasks/changes"), 200)
    assert "access-control-allow-origin" not in answer["headers"]
    assert failed.value.url == f"{api_server.base}/tasks/changes?limit=500"
    assert failed.value.failure == "net::ERR_FAILED"


def test_an_api_that_is_down_is_told_apart_from_a_refusal(page, api_app):
    """The page cannot tell them apart: its fetch rejects with the same TypeError ("Failed to
    fetch") either way, so it shows the same message. The browser's network layer can."""
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    console = []
    page.on("console", lambda message: console.append(message.text))
    api_app.config["APP_API_ORIGINS"] = [down]
    with AppServer(api_app) as site:
        with page.expect_event("requestfailed") as failed:
            page.goto(site.base.replace("127.0.0.1", "localhost") + f"/app?api={down}")
        expect(page.locator("#message")).to_contain_text("Cannot reach the API")

    assert failed.value.url == f"{down}/tasks/changes?limit=500"
    assert failed.value.failure == "net::ERR_CONNECTION_REFUSED"
    assert not any("CORS" in text for text in console)


def test_the_docs_render_every_operation_offline(page, api_app):
    with AppServer(api_app) as site:
        external = []
        page.on("request", lambda r: external.append(r.url) if "127.0.0.1" not in r.url else None)
        page.goto(site.base + "/docs")
        operations = page.locator(".opblock")
        expect(operations).to_have_count(8)  # six on tasks, the change feed, health
        for method in ("get", "post", "put", "patch", "delete"):
            expect(page.locator(f".opblock-{method}").first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "docs.png", full_page=True)
    assert external == []
