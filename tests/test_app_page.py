"""/app: who it may talk to, the policy it runs under, its views, and how it reads and looks."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from taskapp.config import Config, ConfigError, TestConfig
from tests.browsing import (
    ARTIFACTS,
    AXE,
    DESKTOP,
    PHONE,
    Stage,
    open_page,
    task,
)

VIEWS = ("Today", "Overdue", "Upcoming", "All", "Completed")


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = (part.split() for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: sources for name, *sources in directives}


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


@pytest.mark.parametrize("path", ["/app", "/sw.js", "/static/app.js", "/static/app.css"])
def test_the_page_and_its_files_run_only_their_own_scripts_and_are_never_framed(moto_app, path):
    moto_app.config["APP_API_ORIGINS"] = ["https://api.example.com", "http://127.0.0.1:9000"]
    with moto_app.test_client().get(path) as response:
        assert response.status_code == 200
    assert policy(response) == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'", "https://api.example.com", "http://127.0.0.1:9000"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_page_has_no_inline_script_and_learns_the_allowed_origins_from_the_server(
    moto_app,
):
    moto_app.config["APP_API_ORIGINS"] = ["https://api.example.com"]
    page = moto_app.test_client().get("/app?api=https://evil.example").text

    assert "<script>" not in page and "<style>" not in page and "style=" not in page
    assert '<meta name="api-origins" content="https://api.example.com">' in page
    assert "evil" not in page
    assert policy(moto_app.test_client().get("/app"))["connect-src"] == [
        "'self'",
        "https://api.example.com",
    ]


def test_by_default_the_page_talks_to_its_own_origin_only(moto_client):
    assert policy(moto_client.get("/app"))["connect-src"] == ["'self'"]


def test_the_service_worker_covers_the_stage_root(moto_client):
    with moto_client.get("/sw.js") as response:
        assert response.mimetype == "text/javascript"
        assert "static/app.js" in response.text


def test_the_manifest_starts_the_page_within_the_stage(moto_client):
    with moto_client.get("/static/manifest.json") as response:
        manifest = json.loads(response.data)
    with moto_client.get("/static/" + manifest["icons"][0]["src"]) as icon:
        assert icon.status_code == 200
    assert (manifest["start_url"], manifest["scope"]) == ("../app", "../")


def test_app_api_origins_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("APP_API_ORIGINS", "https://a.example.com, http://127.0.0.1:5001")
    assert Config().APP_API_ORIGINS == ["https://a.example.com", "http://127.0.0.1:5001"]
    monkeypatch.delenv("APP_API_ORIGINS")
    assert Config().APP_API_ORIGINS == []


@pytest.mark.parametrize(
    "origin", ["https://a.example.com/dev", "a.example.com", "https://a.example.com; script-src *"]
)
def test_an_app_api_origin_that_is_not_an_origin_stops_the_start(origin):
    config = TestConfig()
    config.APP_API_ORIGINS = [origin]

    with pytest.raises(ConfigError, match="APP_API_ORIGINS"):
        config.validate()


@pytest.mark.parametrize(
    "api",
    [
        "https://evil.example",
        "https://evil.example/{api}",
        "{api}@evil.example",  # the allowed origin as a user name: the host is evil.example
        "//evil.example",
        "javascript:alert(1)",
    ],
)
def test_an_api_the_stage_does_not_allow_is_refused_and_sent_nothing(context, api_app, api):
    sent = []
    context.on("request", lambda request: sent.append(request.url))
    context.route("https://evil.example/**", lambda route: route.abort())
    page = context.new_page()
    with Stage(api_app) as stage:
        asked = api.format(api=stage.api)
        page.goto(f"{stage.origin}/app?api={quote(asked)}")
        expect(page.locator("#message")).to_contain_text(f"This page does not talk to {asked}")
        expect(page.get_by_role("textbox", name="New task")).to_have_count(0)
        page.wait_for_timeout(500)

    assert sent and not [url for url in sent if "evil" in url.split("?")[0]]
    assert not [url for url in sent if url.startswith(stage.api)]


def test_the_page_talks_to_an_allowed_api_on_another_origin(context, api_app):
    page = context.new_page()
    with Stage(api_app) as stage:
        stage.create("From the API")
        open_page(page, stage.url())
        expect(page.locator("#origin")).to_have_text(f"API: {stage.api}")
        expect(page.get_by_role("checkbox", name="From the API")).not_to_be_checked()


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/St_Johns"])
def test_each_view_shows_what_the_apis_filters_answer(browser, api_app, zone):
    """The views are drawn from the local copy; they hold what GET /tasks answers. "Today" is
    the browser's day, which begins 14 hours before UTC's in Kiritimati."""
    now = datetime.now(UTC)
    context = browser.new_context(viewport=DESKTOP, timezone_id=zone)
    page = context.new_page()
    with context, Stage(api_app) as stage:
        due = {
            "long overdue": now - timedelta(days=3),
            "overdue today": now - timedelta(minutes=5),
            "later today": now + timedelta(minutes=5),
            "next week": now + timedelta(days=7),
        }
        for title, moment in due.items():
            stage.create(title, dueDate=moment.isoformat(), category="home", tags=["a"])
        done = stage.create("done and overdue", dueDate=(now - timedelta(hours=1)).isoformat())
        stage.call("PATCH", f"/tasks/{done['taskId']}", {"status": "completed"})
        stage.create("no due date", priority="high", description="Call the Plumber")
        stage.create("Buy a Straßenkarte")  # the server casefolds: "STRASSE" finds it
        open_page(page, stage.url(poll=30))

        bounds = page.evaluate(
            """() => {
                const start = new Date(); start.setHours(0, 0, 0, 0);
                const end = new Date(start); end.setDate(end.getDate() + 1);
                return [start.toISOString(), end.toISOString(), new Date().toISOString()];
            }"""
        )
        start, end, moment = bounds
        queries = {
            "Today": f"dueAfter={start}&dueBefore={end}",
            "Overdue": f"status=pending&dueBefore={moment}",
            "Upcoming": f"status=pending&dueAfter={moment}",
            "All": "",
            "Completed": "status=completed",
        }
        for view, query in queries.items():
            page.get_by_role("button", name=view).click()
            expected = [t["title"] for t in stage.call("GET", f"/tasks?{query}")["tasks"]]
            expect(page.locator("#tasks .title")).to_have_text(expected)

        page.get_by_role("button", name="All").click()
        for control, value, query in [
            ("Search", "plumber", "q=plumber"),
            ("Search", "STRASSE", "q=STRASSE"),
            ("Category", "home", "category=home"),
            ("Tag", "a", "tag=a"),
        ]:
            page.get_by_label(control, exact=True).fill(value)
            expected = [t["title"] for t in stage.call("GET", f"/tasks?{query}")["tasks"]]
            expect(page.locator("#tasks .title")).to_have_text(expected)
            page.get_by_label(control, exact=True).fill("")
        page.get_by_label("Priority", exact=True).select_option("high")
        expect(page.locator("#tasks .title")).to_have_text(["no due date"])


def test_a_due_date_priority_category_and_tags_are_set_in_the_browsers_time_zone(browser, api_app):
    context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Kolkata")
    page = context.new_page()
    try:
        with Stage(api_app) as stage:
            created = stage.create("Dentist")
            open_page(page, stage.url())
            task(page, "Dentist").get_by_role("button", name="Edit").click()
            page.get_by_label("Due").fill("2030-01-15T09:30")
            page.get_by_label("Priority", exact=True).last.select_option("high")
            page.get_by_label("Category", exact=True).last.fill("health")
            page.get_by_label("Tags (comma-separated)").fill("teeth, appointments")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("#connection")).to_have_text("All changes saved")
            expect(task(page, "Dentist")).to_contain_text("Jan 15, 2030, 9:30")

            stored = stage.call("GET", f"/tasks/{created['taskId']}")["task"]
            # 09:30 in India (UTC+05:30) is 04:00 UTC.
            assert stored["dueDate"] == "2030-01-15T04:00:00.000Z"
            assert (stored["priority"], stored["category"], stored["tags"]) == (
                "high",
                "health",
                ["teeth", "appointments"],
            )
    finally:
        context.close()


def seed(stage):
    now = datetime.now(UTC)
    stage.create("Pay the rent", dueDate=(now - timedelta(days=1)).isoformat(), priority="high")
    stage.create("Water the plants", dueDate=(now + timedelta(minutes=30)).isoformat())
    stage.create(
        "Book train tickets for the trip to the coast",
        dueDate=(now + timedelta(days=4)).isoformat(),
        category="travel",
        tags=["summer", "family"],
    )
    stage.create("Read a book", priority="low")
    done = stage.create("Renew passport", category="travel")
    stage.call("PATCH", f"/tasks/{done['taskId']}", {"status": "completed"})


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_view_fits_the_screen_and_has_no_serious_accessibility_violation(
    browser, api_app, size
):
    # Playwright adds axe as an inline script, which the page's policy refuses; the page's own
    # scripts run as they do for everyone.
    context = browser.new_context(viewport=size, bypass_csp=True)
    page = context.new_page()
    width = size["width"]
    try:
        with Stage(api_app) as stage:
            seed(stage)
            open_page(page, stage.url(poll=30))
            page.add_script_tag(path=AXE)
            ARTIFACTS.mkdir(exist_ok=True)
            for view in VIEWS:
                page.get_by_role("button", name=view).click()
                expect(page.get_by_role("button", name=view)).to_have_attribute(
                    "aria-pressed", "true"
                )
                page.screenshot(path=ARTIFACTS / f"app-{view.lower()}-{width}.png", full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                results = page.evaluate("axe.run().then(r => r.violations)")
                serious = [v for v in results if v["impact"] in ("serious", "critical")]
                assert serious == [], json.dumps(serious, indent=1)
            page.get_by_role("button", name="All").click()
            task(page, "Read a book").get_by_role("button", name="Edit").click()
            page.screenshot(path=ARTIFACTS / f"app-edit-{width}.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            results = page.evaluate("axe.run().then(r => r.violations)")
            assert [v for v in results if v["impact"] in ("serious", "critical")] == []
    finally:
        context.close()


def test_the_page_works_from_the_keyboard_alone(context, api_app):
    page = context.new_page()
    with Stage(api_app) as stage:
        open_page(page, stage.url())
        page.get_by_role("textbox", name="New task").focus()
        page.keyboard.type("Typed without a mouse")
        page.keyboard.press("Enter")
        checkbox = page.get_by_role("checkbox", name="Typed without a mouse")
        expect(checkbox).to_be_visible()
        expect(page.locator("#connection")).to_have_text("All changes saved")
        checkbox.focus()
        page.keyboard.press("Space")
        expect(checkbox).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Edit")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_label("Title")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.get_by_role("button", name="Edit")).to_be_focused()
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # Delete
        expect(page.get_by_role("listitem").filter(has=checkbox)).to_have_count(0)
        expect(page.locator("#connection")).to_have_text("All changes saved")
        assert stage.tasks() == {}
