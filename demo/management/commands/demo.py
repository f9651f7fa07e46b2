"""`manage.py demo`: the whole product on the simulated market, end to end."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.days import DEMO_HOLD_DAYS
from demo.story import demo_dir, run_demo
from demo.users import ADMIN_EMAIL, ADMIN_PASSWORD, SUBSCRIBER_EMAIL, SUBSCRIBER_PASSWORD
from trades import report
from trades.results import Row

DEFAULT_DAYS = 3


class Command(BaseCommand):
    help = (
        "Play a compressed trading session on the simulated market: refresh the discovery universe, "
        "stream prices, rescan tickers that move 0.5%, and alert the demo users (subscriber@demo.local by "
        "subscription, discovery@demo.local by discovery, nobody@demo.local never). Emails land as .eml "
        "files in var/demo/mail/ and a summary in var/demo/summary.json. Then (--days) the market moves on "
        "a session at a time: the watched tickers are scanned at 10:00 and 15:30, paper trades open and "
        "close, and the run ends with the track record. Runs in-process on embedded defaults; with "
        "REDIS_URL set the first day runs on a real Celery worker and beat. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seconds", type=float, default=45.0, help="how long to stream, in wall-clock seconds (default 45)"
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=300.0,
            help="simulated seconds per wall second (default 300: 45 s cover about 4 hours of the session)",
        )
        parser.add_argument(
            "--universe", type=int, default=40, help="size of the demo's discovery universe (default 40)"
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"trading days to play: the streamed session, then each further one compressed to a few "
            f"rounds of scans (default {DEFAULT_DAYS})",
        )
        parser.add_argument(
            "--hold-days",
            type=float,
            default=DEMO_HOLD_DAYS,
            help=f"hold paper trades at most this many days (TRADES_MAX_HOLD_DAYS for the run; default "
            f"{DEMO_HOLD_DAYS}; 0 keeps the settings' exit rule, which waits for the front expiry)",
        )
        parser.add_argument(
            "--date",
            dest="first_session",
            type=date.fromisoformat,
            default=None,
            help="the first session, YYYY-MM-DD (default: the latest session, today's when it has opened)",
        )

    def handle(
        self,
        *args,
        seconds: float,
        speed: float,
        universe: int,
        days: int,
        hold_days: float,
        first_session: date | None,
        **options,
    ) -> None:
        if not 5 <= seconds <= 3600:
            raise CommandError("--seconds must be between 5 and 3600")
        if not 1 <= speed <= 5000:
            raise CommandError("--speed must be between 1 and 5000")
        if not 1 <= universe <= 600:
            raise CommandError("--universe must be between 1 and 600")
        if not 1 <= days <= 30:
            raise CommandError("--days must be between 1 and 30")
        if not 0 <= hold_days <= 60:
            raise CommandError("--hold-days must be between 0 and 60")
        call_command("migrate", interactive=False, verbosity=0)
        # One line per eager task, refetched chain or closed batch of trades would bury the story (the
        # days' progress lines count them).
        for name in ("celery.app.trace", "scanner.chain_source", "trades.exits"):
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            summary, cast = run_demo(
                self.say,
                seconds=seconds,
                speed=speed,
                universe_size=universe,
                days=days,
                hold_days=hold_days or None,
                session_date=first_session,
            )
        except ValueError as exc:  # e.g. --date is not a session
            raise CommandError(str(exc)) from None
        out = demo_dir()
        self.stdout.write(self.style.MIGRATE_HEADING("\nSummary"))
        self.stdout.write(
            json.dumps(
                {
                    k: getattr(summary, k)
                    for k in ("moves", "scans", "signals", "alerts", "messages", "emails", "api_calls")
                },
                indent=2,
            )
        )
        for email in (cast.subscriber.email, cast.discovery.email, cast.nobody.email):
            self.stdout.write(f"  {email:<24} {summary.recipients.get(email, 0)} messages")
        record = summary.track_record
        self.stdout.write(self.style.MIGRATE_HEADING(f"\nTrack record of the demo's {summary.days} day(s)"))
        for line in report.lines([Row(**row) for row in record["rows"]], record["open"]):
            self.stdout.write(line)
        self.stdout.write(f"Emails: {out / 'mail'}/   Summary: {out / 'summary.json'}")
        self.stdout.write(f"Site: make web, then http://127.0.0.1:8000/ as {SUBSCRIBER_EMAIL} / {SUBSCRIBER_PASSWORD}")
        self.stdout.write(f"Admin: http://127.0.0.1:8000/admin/ as {ADMIN_EMAIL} / {ADMIN_PASSWORD}")
        problems = summary.story_problems(cast)
        if problems:
            raise CommandError("the demo story did not play out: " + "; ".join(problems))

    def say(self, line: str) -> None:
        self.stdout.write(line)
        sys.stdout.flush()
