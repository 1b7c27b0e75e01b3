"""API Gateway REST API (proxy integration) events, as API Gateway hands them to Lambda."""

import base64
import json
import uuid
from urllib.parse import parse_qs

from tools.lambda_runner import LambdaContext  # noqa: F401  (re-exported for the tests)

HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"


def rest_event(method, path, body=None, headers=None, query="", stage="dev", base64_body=False):
    """The event API Gateway sends for ``method path?query`` on the stage's execute-api host."""
    headers = {
        "Host": HOST,
        "User-Agent": "curl/8.5.0",
        "X-Forwarded-For": "203.0.113.7, 198.51.100.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, bytes) or (base64_body and body is not None):
        raw = body if isinstance(body, bytes) else body.encode()
        body, encoded = base64.b64encode(raw).decode(), True
    else:
        encoded = False
    multi_query = parse_qs(query) or None
    request_id = str(uuid.uuid4())
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()}
        if multi_query
        else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "Xyz=",
            "requestTime": "25/Nov/2026:10:00:00 +0000",
            "path": f"/{stage}{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": HOST.split(".")[0],
            "requestTimeEpoch": 1795600000000,
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "domainName": HOST,
            "apiId": HOST.split(".")[0],
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def body_of(response):
    """The JSON body of a Lambda proxy response, or None when it has none."""
    body = response.get("body")
    if not body:
        return None
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return json.loads(body)


def function_url_event(method, path, body=None, headers=None):
    """The event a Lambda Function URL sends (payload format 2.0): lower-case headers."""
    headers = {"host": "abcdefg.lambda-url.us-east-1.on.aws", **(headers or {})}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
            },
            "requestId": str(uuid.uuid4()),
            "stage": "$default",
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
