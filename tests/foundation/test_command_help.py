"""Every project command's --help reads as written: argparse %-formats argument help but prints the
description raw, so a doubled %% there shows up doubled."""

from __future__ import annotations

import pytest
from django.core.management import get_commands, load_command_class

PROJECT_APPS = {"accounts", "alerts", "demo", "discovery", "forwardfactor", "market", "scanner"}
PROJECT_COMMANDS = sorted((name, app) for name, app in get_commands().items() if app in PROJECT_APPS)


def help_text(app: str, name: str) -> str:
    return load_command_class(app, name).create_parser("manage.py", name).format_help()


@pytest.mark.parametrize(("name", "app"), PROJECT_COMMANDS)
def test_help_shows_no_doubled_percent_sign(name, app):
    # given a project command; when its --help is formatted
    text = help_text(app, name)
    # then a percentage reads as one
    assert "%%" not in text


def test_demo_help_says_it_rescans_on_half_a_percent():
    # given the demo command; when its --help is formatted
    text = " ".join(help_text("demo", "demo").split())
    # then the threshold reads 0.5%
    assert "rescan tickers that move 0.5%, and alert" in text
    assert {"demo", "stream", "marketsim"} <= {name for name, _ in PROJECT_COMMANDS}
