"""The opaque strings a client hands back: list cursors (SPEC 2 and 8) and sync tokens (SPEC 9).

Both are unpadded base64url of a few fixed-size fields, so that a published pattern says which
strings can be one, and both are marshmallow fields: anything else is a 400 naming the parameter.
"""

import base64
import hashlib
import json
import re
import struct
from datetime import UTC, datetime, timedelta
from uuid import UUID

from marshmallow import fields

from .models import format_timestamp
from .store import ListFilters, SyncPosition
from .store.lists import Position

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_LATEST_MS = (_LATEST - _YEAR_ONE) // _MILLISECOND
_NO_TASK = UUID(int=0)

# A cursor: 8 bytes naming the filters it belongs to, the 16 bytes of the last taskId read and,
# in lists ordered by due date, 8 bytes of its due date (milliseconds since year 1).
CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{32}|[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$"
_CURSOR = re.compile(CURSOR_PATTERN)

# A sync token: version, flags, owner digest, position (milliseconds and taskId), the pass's
# mark, and a check that catches a changed character.
SYNC_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{56}$"
_SYNC = struct.Struct(">BB4sq16sq")
_SYNC_VERSION = 1
_FRESH, _HAS_MARK, _HAS_AFTER, _AGAIN = 1, 2, 4, 8
_CHECK_KEY = b"taskapp sync token"


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def filters_digest(filters: ListFilters) -> bytes:
    """Eight bytes that differ between any two sets of filters (and so reject a mixed cursor)."""
    values = [
        filters.status,
        filters.due_after and format_timestamp(filters.due_after),
        filters.due_before and format_timestamp(filters.due_before),
        filters.priority,
        filters.category,
        filters.tag,
        filters.q,
    ]
    return hashlib.blake2s(json.dumps(values).encode(), digest_size=8).digest()


class Cursor(fields.String):
    """A page cursor: {"filters": digest, "after": Position}."""

    default_error_messages = {"invalid": "cursor is not a cursor this API returned"}

    def __init__(self, metadata=None, **kwargs):
        super().__init__(metadata={"pattern": CURSOR_PATTERN, **(metadata or {})}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        after = value["after"]
        raw = value["filters"] + UUID(after.task_id).bytes
        if after.due is not None:
            raw += ((after.due - _YEAR_ONE) // _MILLISECOND).to_bytes(8, "big")
        return _encode(raw)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _CURSOR.fullmatch(text):
            raise self.make_error("invalid")
        raw = _decode(text)
        due = None
        if len(raw) == 32:
            # Any eight bytes name a moment: one past the last date positions after every task.
            milliseconds = int.from_bytes(raw[24:], "big")
            due = _YEAR_ONE + min(milliseconds, _LATEST_MS) * _MILLISECOND
        return {"filters": raw[:8], "after": Position(str(UUID(bytes=raw[8:24])), due)}


class SyncToken(fields.String):
    """A change feed position (store.SyncPosition)."""

    default_error_messages = {"invalid": "since is not a sync token this API returned"}

    def __init__(self, metadata=None, **kwargs):
        super().__init__(metadata={"pattern": SYNC_TOKEN_PATTERN, **(metadata or {})}, **kwargs)

    def _serialize(self, value: SyncPosition, attr, obj, **kwargs):
        flags = _FRESH * value.fresh | _AGAIN * value.again
        after_ms, task = 0, _NO_TASK
        if value.after:
            flags |= _HAS_AFTER
            stamp, _, task_id = value.after.partition("#")
            after_ms = _milliseconds(datetime.fromisoformat(stamp))
            task = UUID(task_id) if task_id else _NO_TASK
        mark_ms = 0
        if value.mark is not None:
            flags |= _HAS_MARK
            mark_ms = _milliseconds(value.mark)
        payload = _SYNC.pack(_SYNC_VERSION, flags, value.owner, after_ms, task.bytes, mark_ms)
        return _encode(payload + _check(payload))

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(SYNC_TOKEN_PATTERN, text):
            raise self.make_error("invalid")
        raw = _decode(text)
        payload, check = raw[: _SYNC.size], raw[_SYNC.size :]
        if check != _check(payload):
            raise self.make_error("invalid")
        version, flags, owner, after_ms, task, mark_ms = _SYNC.unpack(payload)
        if version != _SYNC_VERSION or flags >= 16:
            raise self.make_error("invalid")
        try:
            after = ""
            if flags & _HAS_AFTER:
                after = format_timestamp(_moment(after_ms))
                if task != _NO_TASK.bytes:
                    after += f"#{UUID(bytes=task)}"
            mark = _moment(mark_ms) if flags & _HAS_MARK else None
        except (OverflowError, ValueError):
            raise self.make_error("invalid") from None
        return SyncPosition(owner, after, mark, bool(flags & _FRESH), bool(flags & _AGAIN))


def _milliseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


def _moment(milliseconds: int) -> datetime:
    return _EPOCH + milliseconds * _MILLISECOND


def _check(payload: bytes) -> bytes:
    return hashlib.blake2s(payload, key=_CHECK_KEY, digest_size=4).digest()
