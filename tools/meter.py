"""Counts the DynamoDB requests the app sends, with their parameters and consumed capacity.

Hooks into the botocore client behind the PynamoDB models; used by the tests that pin the
cost rules of SPEC.md section 5 and by the benchmark that prints them.
"""

from dataclasses import dataclass, field

from taskapp.models import Task


@dataclass
class Request:
    operation: str
    params: dict
    capacity: float | None = None


@dataclass
class DynamoDBMeter:
    requests: list = field(default_factory=list)

    def __enter__(self):
        events = self._events()
        events.register("before-parameter-build.dynamodb", self._before, unique_id="meter-in")
        events.register("after-call.dynamodb", self._after, unique_id="meter-out")
        return self

    def __exit__(self, *exc):
        events = self._events()
        events.unregister("before-parameter-build.dynamodb", unique_id="meter-in")
        events.unregister("after-call.dynamodb", unique_id="meter-out")

    def reset(self):
        self.requests.clear()

    @property
    def operations(self):
        return [request.operation for request in self.requests]

    @property
    def capacity(self):
        return sum(request.capacity or 0 for request in self.requests)

    @staticmethod
    def _events():
        return Task._get_connection().connection.client.meta.events

    def _before(self, params, model, **_):
        self.requests.append(Request(model.name, dict(params)))

    def _after(self, parsed, **_):
        consumed = parsed.get("ConsumedCapacity") or {}
        if self.requests:
            self.requests[-1].capacity = consumed.get("CapacityUnits")
