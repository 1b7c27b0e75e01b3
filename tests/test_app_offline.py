"""/app offline first: changes kept on the device and sent once, in order; other devices'
changes arriving by the change feed; conflicts shown; an expired sync token survived; a
reminder set offline by a signed-in person."""

import pytest
from playwright.sync_api import expect
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from tests.browsing import DESKTOP, Stage, all_saved, mint, open_page, sign_in, task
from tests.conftest import drop_table, make_app
from tests.servers import AppServer, call


@pytest.fixture
def new_context(browser):
    """A new browser profile each call: a device of its own."""
    contexts = []

    def new(**options):
        contexts.append(browser.new_context(viewport=DESKTOP, **options))
        return contexts[-1]

    yield new
    for context in contexts:
        context.close()


def add(page, title):
    page.get_by_role("textbox", name="New task").fill(title)
    page.get_by_role("button", name="Add").click()


def rename(page, title, new_title):
    task(page, title).get_by_role("button", name="Edit").click()
    page.get_by_label("Title", exact=True).fill(new_title)
    page.get_by_role("button", name="Save").click()


def titles(page):
    return page.locator("#tasks .title")


def test_changes_made_offline_survive_a_reload_and_reach_the_server_once(new_context, api_app):
    context = new_context()
    page = context.new_page()
    sent = []  # what reached the server: requests tried offline fail, and are not here
    context.on("requestfinished", lambda r: sent.append((r.method, r.url.split("?")[0], r.headers)))
    with Stage(api_app) as stage:
        stage.create("Call mum")
        stage.create("Old chore")
        open_page(page, stage.url())

        context.set_offline(True)
        add(page, "Buy bread")
        add(page, "Fix the bike")
        # Drawn again once both are kept: a click before that could land on the old row.
        expect(page.locator("#connection")).to_have_text("Offline: 2 changes not yet sent")
        page.get_by_role("checkbox", name="Buy bread").check()
        rename(page, "Call mum", "Call mum on Sunday")
        task(page, "Old chore").get_by_role("button", name="Delete").click()
        expect(page.locator("#connection")).to_have_text("Offline: 5 changes not yet sent")
        expect(page.locator("#message")).to_contain_text("Cannot reach the API")

        # The service worker serves the page, IndexedDB its tasks and the waiting changes.
        page.reload()
        expect(page.locator("#connection")).to_have_text("Offline: 5 changes not yet sent")
        expect(titles(page)).to_have_text(["Fix the bike", "Buy bread", "Call mum on Sunday"])
        expect(page.get_by_role("checkbox", name="Buy bread")).to_be_checked()
        expect(page.get_by_role("checkbox", name="Fix the bike")).not_to_be_checked()
        assert sorted(stage.tasks()) == ["Call mum", "Old chore"]  # nothing has left

        context.set_offline(False)
        all_saved(page)
        expect(titles(page)).to_have_text(["Fix the bike", "Buy bread", "Call mum on Sunday"])

        tasks = stage.call("GET", "/tasks")["tasks"]
        assert [t["title"] for t in tasks] == ["Fix the bike", "Buy bread", "Call mum on Sunday"]
        by_title = {t["title"]: t for t in tasks}
        assert by_title["Buy bread"]["status"] == "completed"
        assert by_title["Fix the bike"]["version"] == 1
        assert by_title["Call mum on Sunday"]["version"] == 2

    writes = [(method, url, headers) for method, url, headers in sent if method != "GET"]
    writes = [w for w in writes if w[0] != "OPTIONS" and w[1].startswith(stage.api)]
    assert [(method, url.removeprefix(stage.api)[:6]) for method, url, _ in writes] == [
        ("POST", "/tasks"),
        ("POST", "/tasks"),
        ("PATCH", "/tasks"),
        ("PATCH", "/tasks"),
        ("DELETE", "/tasks"),
    ]
    keys = [headers["idempotency-key"] for method, _, headers in writes if method == "POST"]
    assert len(set(keys)) == 2
    assert [headers["if-match"] for method, _, headers in writes if method != "POST"] == [
        '"1"',
        '"1"',
        '"1"',
    ]


def test_a_create_whose_answer_was_lost_is_sent_again_and_made_once(new_context, api_app):
    context = new_context()
    page = context.new_page()
    lost = []

    def lose_the_first_answer(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch())  # the server creates the task; the page never hears
            route.abort()
        else:
            route.continue_()

    with Stage(api_app) as stage:
        open_page(page, stage.url())
        context.route(f"{stage.api}/tasks", lose_the_first_answer)
        add(page, "Only once")
        all_saved(page)
        expect(titles(page)).to_have_text(["Only once"])
        assert [t["title"] for t in stage.call("GET", "/tasks")["tasks"]] == ["Only once"]
    assert lost[0].status == 201


class HeldFeed:
    """Holds the page's next call to the change feed: the page draws its list again only when
    that call is answered, so until then the list shows tasks as they were before the answer
    to the person's last change."""

    def __init__(self, context, stage):
        self.held = []
        context.route(f"{stage.api}/tasks/changes?*", self.hold)

    def hold(self, route):
        if self.held:
            route.continue_()
        else:
            self.held.append(route)

    def wait(self, page):
        while not self.held:
            page.wait_for_timeout(20)

    def release(self):
        self.held[0].continue_()


def test_a_change_made_on_a_task_drawn_before_its_create_was_confirmed_reaches_it(
    new_context, api_app
):
    context = new_context()
    page = context.new_page()
    with Stage(api_app) as stage:
        open_page(page, stage.url(poll=60))
        feed = HeldFeed(context, stage)
        add(page, "Quick")
        feed.wait(page)
        assert [t["title"] for t in stage.call("GET", "/tasks")["tasks"]] == ["Quick"]
        page.get_by_role("checkbox", name="Quick").click()  # drawn under its id on this device
        feed.release()
        all_saved(page)
        expect(page.get_by_role("checkbox", name="Quick")).to_be_checked()
        (created,) = stage.call("GET", "/tasks")["tasks"]
        assert (created["title"], created["status"]) == ("Quick", "completed")


def test_a_change_made_on_a_task_drawn_before_the_last_change_was_confirmed_follows_it(
    new_context, api_app
):
    context = new_context()
    page = context.new_page()
    with Stage(api_app) as stage:
        stage.create("Quick")
        open_page(page, stage.url(poll=60))
        feed = HeldFeed(context, stage)
        page.get_by_role("checkbox", name="Quick").click()
        feed.wait(page)
        assert stage.tasks()["Quick"]["version"] == 2
        task(page, "Quick").get_by_role("button", name="Delete").click()  # drawn at version 1
        feed.release()
        all_saved(page)
        assert stage.tasks() == {}


def test_what_another_device_changes_shows_without_a_reload(new_context, api_app):
    phone, laptop = new_context().new_page(), new_context().new_page()
    with Stage(api_app) as stage:
        for title in ("Walk the dog", "Buy stamps", "Plan the party"):
            stage.create(title)
        open_page(phone, stage.url())
        open_page(laptop, stage.url())

        rename(laptop, "Walk the dog", "Walk the dog twice")
        laptop.get_by_role("checkbox", name="Buy stamps").check()
        task(laptop, "Plan the party").get_by_role("button", name="Delete").click()
        add(laptop, "Bake a cake")
        all_saved(laptop)

        expect(titles(phone)).to_have_text(["Bake a cake", "Buy stamps", "Walk the dog twice"])
        expect(phone.get_by_role("checkbox", name="Buy stamps")).to_be_checked()


def test_an_offline_edit_that_meets_a_newer_version_lets_the_person_keep_one(new_context, api_app):
    context = new_context()
    page = context.new_page()
    with Stage(api_app) as stage:
        first = stage.create("Paint the door")
        second = stage.create("Mow the lawn")
        open_page(page, stage.url())

        context.set_offline(True)
        rename(page, "Paint the door", "Paint the door blue")
        rename(page, "Mow the lawn", "Mow the lawn on Saturday")
        stage.call("PATCH", f"/tasks/{first['taskId']}", {"title": "Paint the door red"})
        stage.call("PATCH", f"/tasks/{second['taskId']}", {"title": "Mow the lawn on Friday"})
        context.set_offline(False)

        conflict = page.get_by_role("region", name='"Paint the door red" was changed elsewhere')
        expect(conflict).to_contain_text("Paint the door blue")
        expect(conflict).to_contain_text("Paint the door red")
        conflict.get_by_role("button", name="Keep mine").click()

        conflict = page.get_by_role("region", name='"Mow the lawn on Friday" was changed elsewhere')
        expect(conflict).to_contain_text("Mow the lawn on Saturday")
        conflict.get_by_role("button", name="Keep theirs").click()

        all_saved(page)
        expect(page.locator("#conflict")).to_be_hidden()
        expect(titles(page)).to_have_text(["Mow the lawn on Friday", "Paint the door blue"])
        assert sorted(stage.tasks()) == ["Mow the lawn on Friday", "Paint the door blue"]


def test_an_expired_sync_token_leads_to_a_full_resync(new_context, dynamodb_local):
    app = make_app(dynamodb_local, SYNC_RETENTION_SECONDS=2)
    page = new_context().new_page()
    try:
        with Stage(app) as stage:
            stage.create("Stays")
            gone = stage.create("Goes")
            # Each poll comes after the token has expired, so each starts from nothing.
            open_page(page, stage.url(poll=2.5))
            expect(titles(page)).to_have_text(["Goes", "Stays"])

            with page.expect_response(lambda r: r.status == 410, timeout=10_000):
                stage.call("DELETE", f"/tasks/{gone['taskId']}")
                stage.create("Arrives")
            expect(titles(page)).to_have_text(["Arrives", "Stays"], timeout=10_000)
            all_saved(page)
    finally:
        drop_table(app)


def test_under_a_stage_prefix_the_page_its_worker_and_its_api_live_under_it(new_context, api_app):
    """As API Gateway serves a stage (/dev/...): the page talks to the API beside it, and its
    service worker's scope is the stage, not the whole origin."""
    context = new_context()
    page = context.new_page()
    with AppServer(DispatcherMiddleware(api_app, {"/dev": api_app})) as server:
        stage = server.base.replace("127.0.0.1", "localhost") + "/dev/"
        open_page(page, stage + "app")
        expect(page.locator("#origin")).to_have_text(f"API: {stage[:-1]}")
        assert page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)") == stage

        context.set_offline(True)
        add(page, "Staged")
        # Kept on the device only once the page says so ("Saving…" until then).
        expect(page.locator("#connection")).to_have_text("Offline: 1 change not yet sent")
        page.reload()
        expect(page.get_by_role("checkbox", name="Staged")).to_be_visible()
        context.set_offline(False)
        all_saved(page)
        status, answer = call(server.base, "GET", "/dev/tasks")
        assert (status, [t["title"] for t in answer["tasks"]]) == (200, ["Staged"])


def test_a_reminder_set_offline_reaches_the_server_once_back_online(
    new_context, tmp_path, dynamodb_local
):
    app = make_app(dynamodb_local, AUTH_DEV_KEY=str(tmp_path / "dev-key.pem"))
    context = new_context(timezone_id="America/New_York")
    page = context.new_page()
    sent = []
    context.on("requestfinished", lambda r: sent.append((r.method, r.url.split("?")[0], r.headers)))
    try:
        with Stage(app) as stage:
            token = mint(app, "alice", "alice@example.com")
            created = stage.create("Pay the rent", token=token, dueDate="2030-03-01T09:00:00Z")
            open_page(page, stage.url())
            sign_in(page, token)
            all_saved(page)

            context.set_offline(True)
            task(page, "Pay the rent").get_by_role("button", name="Edit").click()
            page.get_by_label("Remind me").check()
            page.get_by_label("Reminder time").fill("2030-02-28T18:00")  # New York: UTC-05:00
            page.get_by_role("button", name="Save").click()
            expect(page.locator("#connection")).to_have_text("Offline: 1 change not yet sent")
            page.reload()
            expect(task(page, "Pay the rent")).to_contain_text("Reminder Feb 28, 2030, 6:00")
            expect(task(page, "Pay the rent")).to_contain_text("not yet sent")
            path = f"/tasks/{created['taskId']}"
            assert stage.call("GET", path, token=token)["task"]["reminderEnabled"] is False

            context.set_offline(False)
            all_saved(page)
            stored = stage.call("GET", path, token=token)["task"]
            assert (stored["reminderEnabled"], stored["reminderAt"], stored["version"]) == (
                True,
                "2030-02-28T23:00:00.000Z",
                2,
            )
    finally:
        drop_table(app)

    (patch,) = [headers for method, url, headers in sent if method == "PATCH"]
    assert (patch["if-match"], patch["authorization"]) == ('"1"', f"Bearer {token}")
