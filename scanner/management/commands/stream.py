"""manage.py stream: the long-running stream consumer (or, with --check, its health check)."""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scanner.polygon import wire

log = logging.getLogger("scanner.stream")


class Command(BaseCommand):
    help = (
        "Watch live prices on the market data WebSocket and enqueue scan_ticker(ticker, 'move') when a "
        "watched ticker (subscribed by anyone, or in the discovery universe) moves by STREAM_MOVE_THRESHOLD "
        "(default 0.5%) since its last scan. Runs until SIGTERM/SIGINT. One process per market data key: a "
        "second one waits as a standby and takes over when the leader dies. Outside market sessions (by "
        "the data source's clock) it disconnects and idles. Needs REDIS_URL (the leader lock, the heartbeat "
        "and the queue the scans go to), unless run with --embedded. "
        "With --check: exit 0 if this host's consumer wrote its heartbeat recently, 1 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Health check: read this host's heartbeat key and exit 0 (fresh) or 1 (missing or stale).",
        )
        parser.add_argument(
            "--channel",
            choices=sorted(wire.CHANNELS),
            help="Price events to follow: A per-second aggregates, AM per-minute, T trades "
            f"(default STREAM_CHANNEL={settings.STREAM_CHANNEL}).",
        )
        parser.add_argument(
            "--threshold",
            type=_fraction,
            metavar="FRACTION",
            help=f"Move that triggers a rescan, as a fraction (default STREAM_MOVE_THRESHOLD="
            f"{settings.STREAM_MOVE_THRESHOLD}); a ticker's own move_threshold still wins.",
        )
        parser.add_argument(
            "--duration",
            type=_positive,
            metavar="SECONDS",
            help="Stop after this many seconds (default: run until stopped).",
        )
        parser.add_argument(
            "--embedded",
            action="store_true",
            help="Run without REDIS_URL, on the embedded defaults: an in-process Redis, move scans run inside "
            "this process, and (without POLYGON_API_KEY / POLYGON_REST_URL) a simulated market of its own. "
            "For trying the stream out; nothing else can see it.",
        )

    def handle(
        self,
        *args,
        check: bool,
        channel: str | None,
        threshold: float | None,
        duration: float | None,
        embedded: bool,
        **options,
    ) -> None:
        if check:
            self._check()
            return
        if not settings.REDIS_URL and not embedded:
            # Without Redis it would stream alone: a lock, a heartbeat and scans no other process sees.
            raise CommandError(
                "REDIS_URL is not set: the stream takes its leader lock and sends its scans through Redis. "
                "Set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/0), or pass --embedded to try it in-process."
            )
        _require_migrated_database()
        from scanner.polygon.errors import ProviderNotConfiguredError
        from scanner.stream.consumer import AuthFailed
        from scanner.stream.service import config_from_settings, run_stream

        overrides: dict = {}
        if channel:
            overrides["channel"] = wire.channel(channel)
        if threshold is not None:
            overrides["move_threshold"] = threshold
        try:
            config = config_from_settings(**overrides)
        except (ValueError, ImproperlyConfigured, ProviderNotConfiguredError) as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            result = run_stream(duration, config=config, stop=stop)
        except AuthFailed as exc:
            raise CommandError(f"{exc}. Check POLYGON_API_KEY (and that the plan includes the stream).") from None
        finally:
            # Called in-process (tests, call_command), the caller's Ctrl-C must work again afterwards.
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        stats = result.stats
        self.stdout.write(
            f"stream stopped after {result.seconds:.0f} s: {stats.events} events, {stats.triggers} triggers, "
            f"{stats.enqueued} scans enqueued, {stats.reconnects} reconnects"
        )

    def _check(self) -> None:
        import redis

        from forwardfactor.shared_state import shared_redis
        from scanner.stream.health import check_health, read_health

        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: the health check reads the consumer's heartbeat from Redis")
        try:
            healthy, line = check_health(read_health(shared_redis()), settings.STREAM_HEALTH_MAX_AGE_S)
        except redis.RedisError as exc:
            raise CommandError(f"cannot read the heartbeat from Redis: {exc}") from None
        if not healthy:
            raise CommandError(line)
        self.stdout.write(line)


def _require_migrated_database() -> None:
    """The watch set is read from the database: without its tables the stream would die on a traceback."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError("the database is not migrated: run `manage.py migrate` first")


def _fraction(raw: str) -> float:
    import argparse

    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{raw} is not a fraction between 0 and 1 (0.005 = 0.5%)")
    return value


def _positive(raw: str) -> float:
    import argparse

    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw} is not a positive number of seconds")
    return value
