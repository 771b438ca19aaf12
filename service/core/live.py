"""Live updates: PostgreSQL's NOTIFY, sent by the journal inside each writing transaction, heard by one
listening connection per worker process and fanned out to that worker's subscriptions.

A notification only wakes a subscription; what it sends is read again from the journal after the cursor it
holds. So nothing rides on the notification itself: a rolled-back write notifies nobody and is in no read, a
notification missed while the listener reconnects costs nothing but the wait until the next recheck, and a
client that reconnects with its last cursor gets everything it missed by the same read.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Protocol

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.core.journal import CHANGES_CHANNEL, Signal

log = logging.getLogger(__name__)


class _Waiter:
    def __init__(self, concerns: Callable[[Signal], bool]) -> None:
        self.concerns = concerns
        self.event = asyncio.Event()

    async def wait(self, at_most_s: float) -> None:
        """Until a change that concerns this waiter was committed, or `at_most_s` seconds passed."""
        with suppress(TimeoutError):
            async with asyncio.timeout(at_most_s):
                await self.event.wait()
        self.event.clear()


class ChangeListener:
    """The worker's one `LISTEN` connection (opened by the first subscription, kept until shutdown)."""

    def __init__(self, database_url: str, connect_timeout_s: float, recheck_s: float) -> None:
        self.recheck_s = recheck_s
        self._connect_args = make_url(database_url).translate_connect_args(username="user")
        self._connect_timeout_s = connect_timeout_s
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._waiters: set[_Waiter] = set()

    async def listen(self) -> None:
        """Open the LISTEN connection unless it is open (the first subscription, or the first after it was lost)."""
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed():
                return
            connection = await asyncpg.connect(**self._connect_args, timeout=self._connect_timeout_s)
            connection.add_termination_listener(self._lost)
            await connection.add_listener(CHANGES_CHANNEL, self._notified)
            self._connection = connection

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        signal = Signal.parse(payload)
        for waiter in self._waiters:
            if waiter.concerns(signal):
                waiter.event.set()

    def _lost(self, _connection: object) -> None:
        # Every subscription listens again and reads: a change committed while nobody listened is in that read.
        log.warning("the LISTEN connection was lost; subscriptions read again and it is reopened")
        self._connection = None
        for waiter in self._waiters:
            waiter.event.set()

    @asynccontextmanager
    async def waiter(self, concerns: Callable[[Signal], bool]) -> AsyncIterator[_Waiter]:
        waiter = _Waiter(concerns)
        self._waiters.add(waiter)
        try:
            yield waiter
        finally:
            self._waiters.discard(waiter)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.remove_termination_listener(self._lost)
            await self._connection.close()
            self._connection = None


class FollowedPage(Protocol):
    items: list
    next_cursor: str | None
    resume_cursor: str


Read = Callable[[AsyncSession, str | None], Awaitable[FollowedPage]]


async def follow(
    listener: ChangeListener,
    sessionmaker: async_sessionmaker[AsyncSession],
    read: Read,
    concerns: Callable[[Signal], bool],
) -> AsyncIterator[FollowedPage]:
    """Pages of `read(session, cursor)`: first the one from no cursor (`read` decides where that starts; it is
    sent even when empty, so the client holds a cursor at once), then every page with items, each read after
    the last one's `resume_cursor`. It listens before each read, so a change that commits after that read
    wakes it. A session is open only while a page is read, never while waiting."""
    async with listener.waiter(concerns) as waiter:
        cursor, first = None, True
        while True:
            await listener.listen()
            async with sessionmaker() as session:
                page = await read(session, cursor)
            if page.items or first:
                yield page
            cursor, first = page.resume_cursor, False
            if page.next_cursor is None:
                # The recheck covers a change notified while an older transaction, still open, kept it from
                # the feed: if that one ends without a change of its own, nothing else would wake this.
                await waiter.wait(listener.recheck_s)
