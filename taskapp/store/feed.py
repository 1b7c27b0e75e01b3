"""The change feed (SPEC section 9): an owner's changes since a position, from the changes index.

Every write stamps the item with changeKey "<updatedAt>#<taskId>" (a deletion too: the task
becomes a tombstone), so the changes index holds each task and tombstone once, at its last
write. A call reads the keys after its position. What makes that safe is the settle period:
a write is stamped before it is sent and commits within ``Settings.settle`` of its stamp (the
function's timeout, with room), so by time R every write stamped before R - settle is visible.

A pass is the run of calls from one position to the end of the index. Its first call, at time
R1, fixes the mark R1 - settle. A write that was not yet visible when the pass read past its
key committed after R1, so its stamp is later than the mark. Hence:
- a pass whose calls before the last read only keys up to the mark has delivered every write
  visible when its last call began: hasMore is false, and the token resumes at that call's
  R - settle (every write stamped earlier was visible then, so was delivered);
- a pass that read past the mark before its last call may have passed such a write: the next
  call reads again from the mark (hasMore true), in a second pass that is exact unless it, too,
  pages past its own mark. Then the answer ends (hasMore false) with the token at that mark,
  so the next sync reads from there: a write that stalled while a sync paged through more
  than ``limit`` changes of the last settle period comes in the next sync, never skipped.
Writes stamped in the last ``settle`` come again in the next sync (duplicates are allowed; the
client keeps the higher version); none is skipped.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from ..models import Task, format_timestamp, task_partition
from .base import InvalidSyncToken, Settings, SyncTokenExpired, now, translated_errors


@dataclass(frozen=True)
class SyncPosition:
    """What a sync token holds.

    ``owner``: a digest of the owner it was given to. ``after``: the changes index key to read
    after ("" for the beginning). ``mark``: the mark of the pass under way (None: the next call
    starts a pass). ``fresh``: the client started from nothing in this pass, so it is sent no
    tombstone stamped before the pass began (see read_changes). ``again``: this pass reads a
    window a second time.
    """

    owner: bytes
    after: str = ""
    mark: datetime | None = None
    fresh: bool = True
    again: bool = False

    @property
    def after_time(self) -> datetime | None:
        return datetime.fromisoformat(self.after.partition("#")[0]) if self.after else None


def read_changes(owner: str, limit: int, since: SyncPosition | None):
    """Tasks and tombstones changed after ``since``, the position to continue at, and hasMore."""
    moment = now()
    digest = owner_digest(owner)
    since = since or SyncPosition(digest)
    if since.owner != digest:
        raise InvalidSyncToken
    _check_age(since, moment)
    mark = since.mark or moment - Settings.settle
    condition = None
    if since.after:
        condition = Task.change_key > since.after
    with translated_errors():
        items = list(
            Task.changes_index.query(
                task_partition(owner),
                condition,
                consistent_read=True,
                limit=limit + 1,
                page_size=limit + 1,
            )
        )
    page = items[:limit]
    if len(items) > limit:
        following = SyncPosition(digest, page[-1].change_key, mark, since.fresh, since.again)
        has_more = True
    elif since.after <= format_timestamp(mark):
        # A first sync resumes at its mark, so that the tombstones it held back come next time.
        resume = mark if since.fresh else moment - Settings.settle
        following, has_more = SyncPosition(digest, format_timestamp(resume), None, False), False
    else:
        # Read the window again from the mark, once; after that, the next sync does.
        has_more = not since.again
        following = SyncPosition(digest, format_timestamp(mark), None, False, has_more)
    tasks = [item for item in page if not item.is_tombstone]
    # Starting from nothing, the client holds no task deleted before its first call (at
    # mark + settle), so it is sent no tombstone stamped before then. A deletion stamped then
    # but committed later (a stalled write) comes in the next sync, which reads from the mark.
    held_back = format_timestamp(mark + Settings.settle) if since.fresh else ""
    deleted = [item for item in page if item.is_tombstone and item.change_key > held_back]
    return tasks, deleted, following, has_more


def owner_digest(owner: str) -> bytes:
    """Binds a token to its owner: another caller's token is refused, not read."""
    return hashlib.blake2s(owner.encode(), digest_size=4).digest()


def _check_age(since: SyncPosition, moment: datetime) -> None:
    """A token from before the oldest tombstone kept is expired; one from the future is forged."""
    oldest = since.mark if since.fresh else since.after_time
    if oldest is not None and oldest < moment - Settings.retention:
        raise SyncTokenExpired
    for stamp in (since.after_time, since.mark):
        if stamp is not None and stamp > moment + Settings.settle:
            raise InvalidSyncToken
