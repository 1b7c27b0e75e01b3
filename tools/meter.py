"""Counts the DynamoDB requests the app sends, with their parameters and consumed capacity.

Hooks into the botocore client behind the PynamoDB models; used by the tests that pin the
cost rules of SPEC.md section 5 and by the benchmark that prints them. With ``indexes=True`` it
asks DynamoDB for each index's share of the capacity (ReturnConsumedCapacity=INDEXES).
"""

from dataclasses import dataclass, field

from taskapp.models import Task


@dataclass
class Request:
    operation: str
    params: dict
    capacity: float | None = None
    # "table" and each index's name: the capacity units it consumed (with indexes=True).
    units: dict = field(default_factory=dict)
    items_read: int = 0


@dataclass
class DynamoDBMeter:
    requests: list = field(default_factory=list)
    indexes: bool = False

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
        shape = model.input_shape
        if shape is not None and "ReturnConsumedCapacity" in shape.members:
            # The app asks for none (taskapp/store/base.py): the meter asks for what it counts.
            params["ReturnConsumedCapacity"] = "INDEXES" if self.indexes else "TOTAL"
        self.requests.append(Request(model.name, dict(params)))

    def _after(self, parsed, **_):
        if not self.requests:
            return
        request = self.requests[-1]
        consumed = parsed.get("ConsumedCapacity")
        # Transactions and batches answer one entry per table, the others a single entry.
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        if entries:
            request.capacity = sum(entry.get("CapacityUnits", 0.0) for entry in entries)
        for entry in entries:
            table = entry.get("Table", {}).get("CapacityUnits", 0.0)
            request.units["table"] = request.units.get("table", 0.0) + table
            indexes = entry.get("LocalSecondaryIndexes", {}) | entry.get(
                "GlobalSecondaryIndexes", {}
            )
            for name, index in indexes.items():
                request.units[name] = request.units.get(name, 0.0) + index["CapacityUnits"]
        request.items_read = parsed.get("ScannedCount", 0)
