"""A real SMTP server (aiosmtpd) on 127.0.0.1, port 0, in a background thread: tests and the fan-out bench.

It keeps every accepted message (or only counts them) and can refuse on demand: ``fail_next`` answers
the next N DATA commands with a transient 451, ``refuse`` answers RCPT for given addresses with 550,
``stall_next_rcpt`` keeps the next N RCPT commands waiting (a client caught in the middle of a send).
``stop`` then ``start`` again is an SMTP server down and back on the same port, its messages kept.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    accepted_at: float = 0.0  # time.perf_counter() when the server accepted it

    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class _Handler:
    keep: bool
    messages: list[Received] = field(default_factory=list)
    accepted: int = 0
    fail_next: int = 0
    refuse: set[str] = field(default_factory=set)
    stall_rcpt: int = 0
    stall_s: float = 0.0
    rcpts_seen: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)  # notified on every acceptance

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts_seen += 1
        if self.stall_rcpt > 0:
            self.stall_rcpt -= 1
            await asyncio.sleep(self.stall_s)
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 try again later"
            self.accepted += 1
            if self.keep:
                self.messages.append(
                    Received(
                        envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, time.perf_counter()
                    )
                )
            self.lock.notify_all()
        return "250 Message accepted"


class SmtpSink:
    def __init__(self, keep: bool = True) -> None:
        self.handler = _Handler(keep=keep)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SmtpSink:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            factory = lambda: SMTP(self.handler, hostname="sink.test", ident="sink", data_size_limit=None)  # noqa: E731
            self._server = self._loop.run_until_complete(self._loop.create_server(factory, "127.0.0.1", self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="smtp-sink", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("SMTP sink did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def accepted(self) -> int:
        return self.handler.accepted

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def messages_after(self, count: int, timeout: float) -> list[Received]:
        """The messages kept after the first ``count``, waiting up to ``timeout`` seconds for one."""
        with self.handler.lock:
            self.handler.lock.wait_for(lambda: len(self.handler.messages) > count, timeout)
            return self.handler.messages[count:]

    def fail_next(self, count: int) -> None:
        with self.handler.lock:
            self.handler.fail_next = count

    def refuse(self, address: str) -> None:
        self.handler.refuse.add(address)

    def stall_next_rcpt(self, count: int, seconds: float) -> None:
        self.handler.stall_s = seconds
        self.handler.stall_rcpt = count

    @property
    def rcpts_seen(self) -> int:
        return self.handler.rcpts_seen

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Poll until ``count`` messages were accepted (True) or the deadline passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepted >= count:
                return True
            time.sleep(0.02)
        return self.accepted >= count
