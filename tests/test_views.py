"""SPEC.md section 8: due views, narrowing filters and search, checked against a model answer."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import create, error_of

BASE = datetime(2030, 3, 10, tzinfo=UTC)
CATEGORIES = (None, "work", "home")
TAGS = ("urgent", "errands", "phone")
WORDS = ("Milk", "report", "Call", "dentist", "MILKSHAKE", "tax")


def iso(moment):
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def walk(client, **query):
    """Every task a filtered listing returns, following nextCursor; and the pages' counts."""
    tasks, counts, cursor = [], [], None
    while True:
        page = {**query, "cursor": cursor} if cursor else query
        response = client.get("/tasks", query_string=page)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["count"] == len(body["tasks"]) <= int(query.get("limit", 50))
        tasks += body["tasks"]
        counts.append(body["count"])
        cursor = body["nextCursor"]
        if cursor is None:
            return tasks, counts


@pytest.fixture
def tasks(client):
    """About 40 tasks of every shape, some completed, some deleted; the live ones, as created."""
    rng = random.Random(7)
    made = []
    for i in range(44):
        fields = {
            "title": f"{rng.choice(WORDS)} {i}",
            "description": rng.choice(["", "buy MILK on the way", "quarterly numbers"]),
            "status": rng.choice(["pending", "pending", "completed"]),
            "priority": rng.choice(["low", "medium", "high"]),
            "tags": rng.sample(TAGS, rng.randint(0, 2)),
        }
        if rng.random() < 0.75:
            # Some share a due date exactly: ties come in creation order.
            fields["dueDate"] = iso(BASE + timedelta(hours=rng.choice([-30, -5, 0, 0, 3, 20, 50])))
        category = rng.choice(CATEGORIES)
        if category:
            fields["category"] = category
        made.append(create(client, **fields))
    for task in made[::9]:
        assert client.delete(f"/tasks/{task['taskId']}").status_code == 200
    deleted = {task["taskId"] for task in made[::9]}
    return [task for task in made if task["taskId"] not in deleted]


def expected(tasks, status=None, dueAfter=None, dueBefore=None, **narrowing):
    """The model answer: which tasks, in which order (SPEC 8)."""
    chosen = [task for task in tasks if status is None or task["status"] == status]
    if dueAfter or dueBefore:
        chosen = [
            task
            for task in chosen
            if task["dueDate"] is not None
            and (dueAfter is None or task["dueDate"] >= iso(dueAfter))
            and (dueBefore is None or task["dueDate"] < iso(dueBefore))
        ]
        # Earliest due first; ties in creation order (tasks are listed in creation order).
        chosen = sorted(chosen, key=lambda task: task["dueDate"])
    else:
        chosen = chosen[::-1]
    for name, value in narrowing.items():
        if name == "q":
            needle = value.casefold()
            chosen = [
                t
                for t in chosen
                if needle in t["title"].casefold() or needle in t["description"].casefold()
            ]
        elif name == "tag":
            chosen = [task for task in chosen if value in task["tags"]]
        else:
            chosen = [task for task in chosen if task[name] == value]
    return chosen


QUERIES = [
    {},
    {"status": "pending"},
    {"status": "completed"},
    {"dueBefore": BASE},  # everything due before a moment
    {"status": "pending", "dueBefore": BASE},  # "Overdue"
    {"dueAfter": BASE},
    {"dueAfter": BASE, "dueBefore": BASE + timedelta(days=1)},  # "Today"
    {"status": "completed", "dueAfter": BASE - timedelta(days=2), "dueBefore": BASE},
    {"priority": "high"},
    {"category": "work"},
    {"tag": "errands"},
    {"q": "milk"},
    {"q": "MILK", "status": "pending"},
    {"q": "Call", "priority": "low", "dueAfter": BASE - timedelta(days=3)},
    {"tag": "urgent", "dueBefore": BASE + timedelta(days=3), "category": "home"},
    {"priority": "medium", "tag": "phone", "status": "pending"},
    {"q": "nothing matches this"},
]


@pytest.mark.parametrize("limit", [3, 50])
@pytest.mark.parametrize("query", QUERIES, ids=lambda query: "&".join(query) or "all")
def test_every_filter_and_combination_matches_the_model(client, tasks, query, limit):
    sent = {
        name: iso(value) if isinstance(value, datetime) else value for name, value in query.items()
    }

    listed, counts = walk(client, **sent, limit=limit)

    assert listed == expected(tasks, **query)
    if not any(name in query for name in ("priority", "category", "tag", "q")):
        # Index-served lists fill every page but the last, and never end on an empty page.
        assert all(count == limit for count in counts[:-1])
        assert counts[-1] > 0 or len(counts) == 1


def test_due_bounds_take_offsets_and_keep_ties_in_creation_order(client):
    same = "2030-01-01T09:00:00+01:00"  # 08:00Z
    later = create(client, title="later", dueDate="2030-01-01T08:00:00.001Z")["taskId"]
    ids = [create(client, title=f"t{i}", dueDate=same)["taskId"] for i in range(5)]
    create(client, title="at the end bound", dueDate="2030-01-01T09:00:00Z")
    create(client, title="just before the start", dueDate="2030-01-01T07:59:59.999Z")
    create(client, title="no due date")

    for limit in (2, 50):
        listed, _ = walk(
            client,
            dueAfter="2030-01-01T08:00:00Z",
            dueBefore="2030-01-01T10:00:00+01:00",
            limit=limit,
        )

        assert [task["taskId"] for task in listed] == [*ids, later]


def test_an_empty_due_range_is_an_empty_list(client, meter):
    create(client, dueDate="2030-01-01T00:00:00Z")
    moment = "2030-01-01T00:00:00Z"

    body = client.get("/tasks", query_string={"dueAfter": moment, "dueBefore": moment}).get_json()

    assert body == {"tasks": [], "count": 0, "nextCursor": None}
    assert meter.operations == ["TransactWriteItems"]  # the create; the empty range reads nothing


def test_a_narrowing_filter_reads_at_most_ten_times_the_limit(client, meter):
    for i in range(25):
        create(client, title=f"plain {i}")
    create(client, title="the needle")
    meter.reset()

    response = client.get("/tasks", query_string={"q": "needle", "limit": 2})

    body = response.get_json()
    # 26 tasks, newest first: the needle is the first read, then up to 19 more are read.
    assert [task["title"] for task in body["tasks"]] == ["the needle"]
    assert body["nextCursor"] is not None
    assert sum(request.params["Limit"] for request in meter.requests) <= 20
    assert all("FilterExpression" not in request.params for request in meter.requests)
    rest, _ = walk(client, q="needle", limit=2)
    assert [task["title"] for task in rest] == ["the needle"]


def test_a_page_may_be_empty_and_still_lead_on(client):
    create(client, title="old match")
    for i in range(30):
        create(client, title=f"plain {i}")

    first = client.get("/tasks", query_string={"q": "match", "limit": 1}).get_json()
    listed, _ = walk(client, q="match", limit=1)

    assert first["tasks"] == [] and first["nextCursor"] is not None
    assert [task["title"] for task in listed] == ["old match"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"dueBefore": "2030-01-01"}, "dueBefore"),  # a date without a time
        ({"dueAfter": "tomorrow"}, "dueAfter"),
        ({"dueAfter": "2030-01-02T00:00:00Z", "dueBefore": "2030-01-01T00:00:00Z"}, "dueAfter"),
        ({"priority": "urgent"}, "priority"),
        ({"priority": ""}, "priority"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"tag": ""}, "tag"),
        ({"tag": "t" * 51}, "tag"),
        ({"category": "c" * 51}, "category"),
        ({"limit": "101", "q": "x"}, "limit"),
    ],
)
def test_bad_filter_is_a_400_that_names_it(client, query, field):
    response = client.get("/tasks", query_string=query)

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == [field]
    assert field in error_of(response)


@pytest.mark.parametrize(
    "other",
    [
        {"priority": "high"},
        {"q": "milk"},
        {"dueBefore": "2031-01-01T00:00:00Z"},
        {"dueBefore": "2030-06-01T00:00:00Z", "status": "pending"},
    ],
)
def test_a_cursor_is_valid_only_with_exactly_its_filters(client, other):
    for i in range(4):
        create(client, title=f"milk {i}", priority="high", dueDate="2030-05-01T00:00:00Z")
    query = {"dueBefore": "2030-06-01T00:00:00Z", "limit": 1}
    cursor = client.get("/tasks", query_string=query).get_json()["nextCursor"]
    assert client.get("/tasks", query_string={**query, "cursor": cursor}).status_code == 200

    response = client.get("/tasks", query_string={"limit": 1, **other, "cursor": cursor})

    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["cursor"]


def test_writes_show_in_every_filter_at_once(client):
    task = create(client, title="Dentist", dueDate="2030-01-01T10:00:00Z")
    path = f"/tasks/{task['taskId']}"
    overdue = {"status": "pending", "dueBefore": "2030-01-02T00:00:00Z"}
    assert walk(client, **overdue)[0] == [task]

    moved = client.patch(path, json={"dueDate": "2030-01-05T10:00:00Z"}).get_json()["task"]
    assert walk(client, **overdue)[0] == []
    assert walk(client, dueAfter="2030-01-05T00:00:00Z")[0] == [moved]

    done = client.patch(path, json={"status": "completed"}).get_json()["task"]
    assert walk(client, status="pending", dueAfter="2030-01-01T00:00:00Z")[0] == []
    assert walk(client, status="completed", dueAfter="2030-01-01T00:00:00Z")[0] == [done]

    both = client.patch(path, json={"status": "pending", "dueDate": None}).get_json()["task"]
    assert walk(client, dueAfter="2000-01-01T00:00:00Z")[0] == []
    assert walk(client, status="pending")[0] == [both]

    client.delete(path)
    for query in ({}, {"status": "pending"}, {"dueAfter": "2000-01-01T00:00:00Z"}, {"q": "dent"}):
        assert walk(client, **query)[0] == []


def test_a_deleted_task_is_gone_for_every_single_task_call(client):
    task = create(client)
    path = f"/tasks/{task['taskId']}"
    assert client.delete(path).status_code == 200

    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404
    # If-Match on a deleted task is a 404 (not a 412): there is no task to be stale.
    assert (
        client.patch(path, json={"title": "back"}, headers={"If-Match": '"1"'}).status_code == 404
    )
    assert client.put(path, json={"title": "back"}).status_code == 404
    # Changes that move index keys meet the condition first: still a 404, never a 400 or 500.
    assert client.patch(path, json={"status": "completed"}).status_code == 404
    assert client.patch(path, json={"dueDate": "2030-01-01T00:00:00Z"}).status_code == 404
    assert client.delete(path, headers={"If-Match": '"2"'}).status_code == 404
