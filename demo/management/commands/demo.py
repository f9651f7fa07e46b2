"""`manage.py demo`: the whole product on the simulated market, end to end."""

from __future__ import annotations

import json
import logging
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.story import demo_dir, run_demo
from demo.users import ADMIN_EMAIL, ADMIN_PASSWORD, SUBSCRIBER_EMAIL, SUBSCRIBER_PASSWORD


class Command(BaseCommand):
    help = (
        "Play a compressed trading session on the simulated market: refresh the discovery universe, "
        "stream prices, rescan tickers that move 0.5%, and alert the demo users (subscriber@demo.local by "
        "subscription, discovery@demo.local by discovery, nobody@demo.local never). Emails land as .eml "
        "files in var/demo/mail/ and a summary in var/demo/summary.json. Runs in-process on embedded "
        "defaults; with REDIS_URL set it starts a real Celery worker and beat. Safe to run again."
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

    def handle(self, *args, seconds: float, speed: float, universe: int, **options) -> None:
        if not 5 <= seconds <= 3600:
            raise CommandError("--seconds must be between 5 and 3600")
        if not 1 <= speed <= 5000:
            raise CommandError("--speed must be between 1 and 5000")
        if not 1 <= universe <= 600:
            raise CommandError("--universe must be between 1 and 600")
        call_command("migrate", interactive=False, verbosity=0)
        # One line per eager task would bury the story.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        summary, cast = run_demo(self.say, seconds=seconds, speed=speed, universe_size=universe)
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
        self.stdout.write(f"Emails: {out / 'mail'}/   Summary: {out / 'summary.json'}")
        self.stdout.write(f"Site: make web, then http://127.0.0.1:8000/ as {SUBSCRIBER_EMAIL} / {SUBSCRIBER_PASSWORD}")
        self.stdout.write(f"Admin: http://127.0.0.1:8000/admin/ as {ADMIN_EMAIL} / {ADMIN_PASSWORD}")
        problems = summary.story_problems(cast)
        if problems:
            raise CommandError("the demo story did not play out: " + "; ".join(problems))

    def say(self, line: str) -> None:
        self.stdout.write(line)
        sys.stdout.flush()
