"""/app: who it may talk to, the policy it runs under, its views, how it reads and looks, who
is signed in, reminders and links to one task."""

import json
import re
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
    all_saved,
    mint,
    open_page,
    sign_in,
    task,
)
from tests.conftest import drop_table, make_app
from tests.servers import call

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
            page.get_by_label("Remind me").check()
            page.get_by_role("button", name="Save").click()  # no time and no due date: refused
            expect(page.get_by_role("alert")).to_have_text(re.compile("Choose a reminder time"))
            page.screenshot(path=ARTIFACTS / f"app-edit-{width}.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            results = page.evaluate("axe.run().then(r => r.violations)")
            assert [v for v in results if v["impact"] in ("serious", "critical")] == []
            page.get_by_role("button", name="Cancel").click()
            page.locator("summary", has_text="Sign in").click()
            expect(page.get_by_label("Bearer token")).to_be_visible()
            page.screenshot(path=ARTIFACTS / f"app-sign-in-{width}.png", full_page=True)
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


def test_a_sync_that_brings_nothing_new_leaves_the_list_as_drawn(context, api_app):
    """The feed sends the last moments' changes again (SPEC 9): a page that drew its list again
    for them would replace the row under the person's pointer, and a click there is lost."""
    page = context.new_page()
    with Stage(api_app) as stage:
        stage.create("Stays put")
        open_page(page, stage.url())
        page.get_by_role("checkbox", name="Stays put").evaluate("box => box.classList.add('seen')")
        for _ in range(3):
            with page.expect_response(lambda r: "/tasks/changes?since=" in r.url) as answer:
                pass
            assert "Stays put" in answer.value.text()  # sent again, unchanged
        # The next sync leaves only once the page has handled the last answer.
        with page.expect_request(lambda r: "/tasks/changes?since=" in r.url):
            pass
        assert page.locator("#tasks .seen").count() == 1


# Holds IndexedDB's answer to the page's open() for a while: a slow device's first moments.
SLOW_DATABASE = """
const open = IDBFactory.prototype.open;
IDBFactory.prototype.open = function (...args) {
  const request = open.apply(this, args);
  request.addEventListener("success", (event) => {
    if (!event.isTrusted) return;
    event.stopImmediatePropagation();
    setTimeout(() => {
      window.databaseOpened = true;
      request.dispatchEvent(new Event("success"));
    }, 3000);
  });
  return request;
};
"""


def test_a_task_added_before_the_page_has_read_this_devices_copy_is_kept(context, api_app):
    page = context.new_page()
    page.add_init_script(SLOW_DATABASE)
    with Stage(api_app) as stage:
        page.goto(stage.url())
        page.get_by_role("textbox", name="New task").fill("Added at once")
        page.get_by_role("button", name="Add").click()
        assert not page.evaluate("window.databaseOpened")
        expect(page.locator("#connection")).to_have_text("All changes saved", timeout=10_000)
        expect(page.locator("#tasks .title")).to_have_text(["Added at once"])
        assert list(stage.tasks()) == ["Added at once"]


# --- Signing in, reminders (SPEC 7 and 10) and links to one task


@pytest.fixture
def local_app(dynamodb_local, tmp_path):
    """An app on DynamoDB Local whose development key (for `flask dev-token`) is the test's."""
    app = make_app(dynamodb_local, AUTH_DEV_KEY=str(tmp_path / "dev-key.pem"))
    yield app
    drop_table(app)


def test_signing_in_sends_the_token_and_shows_that_accounts_tasks_until_signing_out(
    context, local_app
):
    page = context.new_page()
    sent = []
    with Stage(local_app) as stage:
        token = mint(local_app, "alice")
        stage.create("The local owner's")
        stage.create("Alice's", token=token)
        # No poll while signing in: the page before the reload would sync without the token.
        open_page(page, stage.url(poll=60))
        expect(page.locator("#tasks .title")).to_have_text(["The local owner's"])

        page.on("request", lambda r: r.url.startswith(stage.api) and sent.append(r))
        sign_in(page, token)
        expect(page.locator("#account-summary")).to_have_text("Signed in as alice")
        expect(page.locator("#account-summary")).to_be_focused()
        all_saved(page)
        expect(page.locator("#tasks .title")).to_have_text(["Alice's"])
        page.get_by_role("checkbox", name="Alice's").check()
        all_saved(page)
        assert stage.call("GET", "/tasks", token=token)["tasks"][0]["status"] == "completed"
        calls = [r for r in sent if r.method != "OPTIONS"]
        assert {r.method for r in calls} == {"GET", "PATCH"}
        assert {r.headers.get("authorization") for r in calls} == {f"Bearer {token}"}

        page.locator("#account summary").click()
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#message")).to_have_text("Signed out.")
        expect(page.locator("#account-summary")).to_have_text("Sign in")
        all_saved(page)
        expect(page.locator("#tasks .title")).to_have_text(["The local owner's"])
        # Alice's copy left this device with her.
        names = page.evaluate("indexedDB.databases().then(list => list.map(d => d.name))")
        assert names == [f"taskapp {stage.api}"]


def test_a_refused_token_asks_the_person_to_sign_in_again_and_keeps_their_changes(
    context, local_app
):
    page = context.new_page()
    with Stage(local_app) as stage:
        mint(local_app, "alice")  # the development key exists; this token is not its
        open_page(page, stage.url())
        sign_in(page, "not-a-token-this-api-trusts")
        expect(page.locator("#message")).to_contain_text(
            "The API refused your sign-in (The token is invalid or expired): sign in again"
        )
        page.get_by_role("textbox", name="New task").fill("Kept meanwhile")
        page.get_by_role("button", name="Add").click()
        expect(page.locator("#connection")).to_have_text("Not signed in: 1 change not yet sent")
        expect(page.get_by_label("Bearer token")).to_be_visible()  # "Sign in" is open
        assert stage.tasks() == {}


def test_a_signed_in_person_sets_a_reminder_in_the_browsers_time_zone(browser, local_app):
    """At phone width, in India (UTC+05:30): the reminder reaches the server in UTC, and the
    task's row shows a bell and the local time."""
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Kolkata")
    page = context.new_page()
    with context, Stage(local_app) as stage:
        token = mint(local_app, "alice", "alice@example.com")
        created = stage.create("Dentist", token=token, dueDate="2030-01-15T04:30:00Z")
        open_page(page, stage.url())
        sign_in(page, token)
        all_saved(page)

        task(page, "Dentist").get_by_role("button", name="Edit").click()
        page.get_by_label("Remind me").check()
        page.get_by_label("Reminder time").fill("2030-01-15T08:45")
        page.get_by_role("button", name="Save").click()
        all_saved(page)
        stored = stage.call("GET", f"/tasks/{created['taskId']}", token=token)["task"]
        # 08:45 in India is 03:15 UTC.
        assert (stored["reminderEnabled"], stored["reminderAt"]) == (
            True,
            "2030-01-15T03:15:00.000Z",
        )
        expect(task(page, "Dentist").locator(".reminder")).to_have_text(
            re.compile(r"Reminder Jan 15, 2030, 8:45")
        )
        # The bell is not read aloud; the checkbox's name is still the title alone.
        expect(
            page.get_by_role("checkbox", name="Dentist", exact=True)
        ).to_have_accessible_description(
            re.compile(r"^Due Jan 15, 2030, 10:00\sAM · Reminder Jan 15, 2030, 8:45\sAM · medium")
        )
        page.screenshot(path=ARTIFACTS / "app-reminder-390.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # An empty time: at the due date (10:00 in India).
        task(page, "Dentist").get_by_role("button", name="Edit").click()
        expect(page.get_by_label("Remind me")).to_be_checked()
        expect(page.get_by_label("Reminder time")).to_have_value("2030-01-15T08:45")
        page.get_by_label("Reminder time").fill("")
        page.get_by_role("button", name="Save").click()
        all_saved(page)
        stored = stage.call("GET", f"/tasks/{created['taskId']}", token=token)["task"]
        assert (stored["reminderEnabled"], stored["reminderAt"]) == (True, None)
        expect(task(page, "Dentist").locator(".reminder")).to_have_text(
            re.compile(r"Reminder Jan 15, 2030, 10:00")
        )


def test_without_a_verified_email_the_page_shows_the_apis_sentence_and_keeps_the_rest(
    context, local_app
):
    page = context.new_page()
    with Stage(local_app) as stage:
        created = stage.create("Water the plants", dueDate="2030-01-15T08:00:00Z")
        path = f"/tasks/{created['taskId']}"
        status, refusal = call(stage.api, "PATCH", path, {"reminderEnabled": True})
        assert status == 400
        open_page(page, stage.url())

        task(page, "Water the plants").get_by_role("button", name="Edit").click()
        page.get_by_label("Title", exact=True).fill("Water the plants twice")
        page.get_by_label("Remind me").check()
        page.get_by_label("Reminder time").fill("2030-01-15T07:30")
        page.get_by_role("button", name="Save").click()

        form = page.get_by_role("form", name="Edit Water the plants")
        expect(form.get_by_role("alert")).to_have_text(refusal["error"])
        expect(form.get_by_label("Remind me")).to_be_checked()
        expect(form.get_by_label("Remind me")).to_be_focused()
        expect(form.get_by_label("Reminder time")).to_have_value("2030-01-15T07:30")
        all_saved(page)
        stored = stage.call("GET", path)["task"]
        assert (stored["title"], stored["reminderEnabled"]) == ("Water the plants twice", False)


def test_a_link_to_a_task_opens_it_once_the_person_is_signed_in_and_the_tasks_loaded(
    context, local_app
):
    """The link of a reminder email, /app#task=ID, opened in a browser not yet signed in."""
    page = context.new_page()
    with Stage(local_app) as stage:
        token = mint(local_app, "alice", "alice@example.com")
        wanted = stage.create("The one in the email", token=token)
        for number in range(30):
            stage.create(f"Task {number}", token=token)

        page.goto(stage.url() + f"#task={wanted['taskId']}")
        expect(page.locator("#message")).to_have_text(
            "The linked task was not found: it was deleted, or it belongs to another account: "
            "sign in as its owner."
        )
        sign_in(page, token)
        title = page.get_by_role("form", name="Edit The one in the email").get_by_label("Title")
        expect(title).to_be_focused()
        expect(title).to_be_in_viewport()
        expect(title).to_have_value("The one in the email")
        assert "#" not in page.url  # opened once: a reload leaves the person where they are


def test_a_link_to_a_task_this_device_has_not_heard_of_asks_the_server(context, local_app):
    page = context.new_page()
    with Stage(local_app) as stage:
        open_page(page, stage.url(poll=60))
        fresh = stage.create("Made elsewhere a moment ago")
        expect(page.get_by_role("checkbox", name="Made elsewhere")).to_have_count(0)

        with page.expect_request(f"{stage.api}/tasks/{fresh['taskId']}") as asked:
            page.goto(stage.url(poll=60) + f"#task={fresh['taskId']}")  # a link, clicked here
        assert asked.value.method == "GET"
        form = page.get_by_role("form", name="Edit Made elsewhere a moment ago")
        expect(form.get_by_label("Title")).to_be_focused()
