"""/openapi.json: a valid OpenAPI 3 document that a client developer can work from alone."""

import pytest
from openapi_spec_validator import validate

OPERATIONS = {
    ("/tasks", "post"): {201, 400, 401, 403, 413, 422, 503},
    ("/tasks", "get"): {200, 400, 401, 503},
    ("/tasks/changes", "get"): {200, 400, 401, 410, 503},
    ("/tasks/{task_id}", "get"): {200, 304, 401, 404, 503},
    ("/tasks/{task_id}", "put"): {200, 400, 401, 404, 412, 413, 503},
    ("/tasks/{task_id}", "patch"): {200, 400, 401, 404, 412, 413, 503},
    ("/tasks/{task_id}", "delete"): {200, 401, 404, 412, 503},
}


@pytest.fixture(scope="module")
def spec(docs_app):
    return docs_app.test_client().get("/openapi.json").get_json()


@pytest.fixture(scope="module")
def docs_app():
    from taskapp import create_app
    from taskapp.config import TestConfig

    return create_app(TestConfig())  # serving the document touches no AWS service


def test_the_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_every_operation_documents_its_answers_with_examples(spec, path, method):
    operation = spec["paths"][path][method]

    assert operation["operationId"] and operation["summary"]
    statuses = {int(status) for status in operation["responses"] if status != "default"}
    assert statuses == OPERATIONS[(path, method)]
    for status, response in operation["responses"].items():
        if status in ("default", "304"):
            continue
        content = response["content"]["application/json"]
        assert "example" in content or "examples" in content, f"{method} {path} {status}"
        if int(status) >= 400:
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}
    if "requestBody" in operation:
        assert "example" in operation["requestBody"]["content"]["application/json"]


@pytest.mark.parametrize("path", ["/tasks", "/tasks/changes"])
def test_every_query_parameter_is_described(spec, path):
    parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}

    expected = (
        {"limit", "since"}
        if path == "/tasks/changes"
        else {
            "limit",
            "cursor",
            "status",
            "dueAfter",
            "dueBefore",
            "priority",
            "category",
            "tag",
            "q",
        }
    )
    assert set(parameters) == expected
    for name, parameter in parameters.items():
        assert parameter["description"], name
        assert parameter["in"] == "query" and parameter["required"] is False


def test_headers_are_documented(spec):
    def parameter_names(operation):
        names = []
        for parameter in operation.get("parameters", []):
            if "$ref" in parameter:
                parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
            names.append(parameter["name"])
        return names

    tasks, task = spec["paths"]["/tasks"], spec["paths"]["/tasks/{task_id}"]
    assert "Idempotency-Key" in parameter_names(tasks["post"])
    assert "If-None-Match" in parameter_names(task["get"])
    for method in ("put", "patch", "delete"):
        assert "If-Match" in parameter_names(task[method])
    assert set(tasks["post"]["responses"]["201"]["headers"]) == {"Location", "ETag"}
    for method in ("get", "put", "patch"):
        assert "ETag" in task[method]["responses"]["200"]["headers"]
    assert "Retry-After" in tasks["get"]["responses"]["503"]["headers"]
    assert "WWW-Authenticate" in tasks["get"]["responses"]["401"]["headers"]


def test_authentication_is_documented(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKey"]["name"] == "X-Api-Key"
    assert {"bearerAuth": [], "apiKey": []} in spec["security"]
