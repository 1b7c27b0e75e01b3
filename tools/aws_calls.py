"""Records every AWS call a Python process makes, for the deployer policy's test.

Copied as `sitecustomize.py` into a folder put on PYTHONPATH (tests/test_deploy_cycle.py does),
it runs when each interpreter starts: when AWS_CALLS_FILE is set, every botocore session
created in the process gets a handler that appends one JSON line per call to that file, before
the call is sent: the service, the operation, its HTTP method and path, and the call's scalar
parameters, lists of scalars (names of functions, tables, buckets, alarms...) and structures of
scalars (a function's TracingConfig, which moto does not keep). Zappa, the
post-deploy hook and PynamoDB all go through botocore, so nothing they ask of AWS escapes it.
Without AWS_CALLS_FILE it does nothing.
"""

import json
import os

SCALARS = (str, int, float, bool)


def record(path, params, model, context=None, **kwargs):
    service = model.service_model
    http = model.http or {}
    uri = http.get("requestUri", "/").split("?", 1)[0]
    members = model.input_shape.members if model.input_shape else {}
    for name, shape in members.items():
        if shape.serialization.get("location") == "uri" and name in params:
            label = shape.serialization.get("name", name)
            for placeholder in (f"{{{label}}}", f"{{{label}+}}"):
                uri = uri.replace(placeholder, str(params[name]))
    line = {
        "service": service.endpoint_prefix,
        "operation": model.name,
        "method": http.get("method", "POST"),
        "uri": uri,
        "region": (context or {}).get("client_region"),
        "params": {
            name: value
            for name, value in params.items()
            if _named(value)
            or (isinstance(value, list) and all(map(_named, value)))
            or (isinstance(value, dict) and all(map(_named, value.values())))
        },
    }
    with open(path, "a") as calls:
        calls.write(json.dumps(line) + "\n")


def _named(value):
    return isinstance(value, SCALARS) and len(str(value)) < 2048


def install(path):
    import functools

    from botocore import session

    original = session.Session.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register("before-parameter-build", functools.partial(record, path))

    session.Session.__init__ = __init__


if os.environ.get("AWS_CALLS_FILE"):
    try:
        install(os.environ["AWS_CALLS_FILE"])
    except ImportError:  # an interpreter without botocore makes no AWS call
        pass


def read(path):
    """The calls recorded in a file, in order."""
    with open(path) as calls:
        return [json.loads(line) for line in calls if line.strip()]
