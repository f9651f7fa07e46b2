"""``manage.py scan TICKER``: scan one ticker now (no market-hours gate) and print what the engine sees;
with ``--store``, scan it as the service does (Scan row, signals, alerts) and print the outcome."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.validators import normalize_ticker, validate_ticker
from scanner.earnings import engine_earnings
from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.scan import ChainScan, scan_chain
from scanner.engine.timing import NEW_YORK
from scanner.models import Scan
from scanner.polygon.errors import MarketDataError
from scanner.polygon.parse import SnapshotError, parse_snapshot_pages
from scanner.scanning import engine_config, scan_and_alert

if TYPE_CHECKING:
    from scanner.chain_source import FetchedChain


class Command(BaseCommand):
    help = (
        "Scan one ticker's option chain for Forward Factor signals (pairs 30-60, 30-90, 60-90; ATM call "
        "calendar and 35-delta double calendar) and print every pair found, passing or not, with its "
        "liquidity reasons and flags. Fetches the chain from the configured provider (Polygon with "
        "POLYGON_API_KEY, else the simulated market) unless --chain-file is given. Runs at any hour: "
        "quotes older than STALE_QUOTE_MINUTES are flagged, not hidden. Known earnings (EarningsEvent, "
        "see import_earnings) add an ex-earnings FF. With --store, the scan is the service's own manual scan "
        "instead: the Scan and its signals are stored, the users it concerns are alerted as usual, and the "
        "outcome is printed (scan id, signals, alerts created, requests). With --term-structure it prints the "
        "ATM IV of every listed expiry up to a year instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ticker", help="Underlying symbol, e.g. AAPL.")
        parser.add_argument(
            "--chain-file",
            metavar="PATH",
            help="A saved snapshot in Polygon's /v3/snapshot/options format: one page or a JSON array of pages.",
        )
        parser.add_argument(
            "--as-of",
            metavar="ISO8601",
            help="Compute times to expiry from this moment instead of the snapshot's own timestamp, e.g. "
            "2025-03-03T10:00-05:00 (without an offset: New York time).",
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON array of signal dicts.")
        parser.add_argument(
            "--term-structure",
            action="store_true",
            help="Print the term structure instead of the signals: the ATM IV of every listed expiry up to a year, "
            'from the fetched chain (source "chain", at the forward) or the expiry probe (source "probe", near '
            "the money); with --json a JSON array of {expiry, dte, atm_iv, source}.",
        )
        parser.add_argument(
            "--store",
            action="store_true",
            help="Store the Scan and its signals and alert the users it concerns, like a manual scan from the "
            "admin; prints the outcome. Not with --chain-file, --as-of, --json or --term-structure.",
        )

    def handle(self, *args, **options) -> None:
        ticker = _ticker(options["ticker"])
        if options["store"]:
            self._store(ticker, options)
            return
        as_of = _as_of(options["as_of"])
        config = engine_config()
        listed: tuple[date, ...] = ()
        probe_iv: dict[date, float] = {}
        if options["chain_file"]:
            chain = _chain_from_file(options["chain_file"], ticker, as_of)
        else:
            fetched = _fetch(ticker, config)
            chain, listed, probe_iv = fetched.chain, fetched.listed, fetched.listed_iv
        if chain.ticker and chain.ticker != ticker:
            raise CommandError(f"the chain is for {chain.ticker}, not {ticker}")
        when = as_of or chain.as_of
        result = scan_chain(chain, config, as_of, engine_earnings(ticker, when), listed=listed, probe_iv=probe_iv)
        if options["term_structure"]:
            self.stdout.write(json.dumps(result.term_structure, indent=2) if options["json"] else _term_table(result))
        elif options["json"]:
            self.stdout.write(json.dumps(result.signals, indent=2))
            for note in result.notes:
                self.stderr.write(note)
        else:
            self.stdout.write(_table(result))

    def _store(self, ticker: str, options: dict[str, Any]) -> None:
        given = [flag for flag in ("chain_file", "as_of", "json", "term_structure") if options[flag]]
        if given:
            names = ", ".join("--" + flag.replace("_", "-") for flag in given)
            raise CommandError(f"--store scans the live chain as the service does; drop {names}")
        try:
            report = scan_and_alert(ticker, Scan.Reason.MANUAL)
        except MarketDataError as error:  # retryable ones are raised after the Scan row recorded them
            raise CommandError(f"{ticker}: {error}") from None
        self.stdout.write(
            f"{report.ticker}: {report.outcome}, scan {report.scan_id}, {report.signals} signal(s), "
            f"{report.alerts} alert(s) created, {report.requests} request(s)"
            + (f"; {report.error}" if report.error else "")
        )
        if report.scan_id is None:  # invalid ticker, or another scan of it running
            raise CommandError(report.error or report.outcome)


def _ticker(raw: str) -> str:
    ticker = normalize_ticker(raw)
    try:
        validate_ticker(ticker)
    except ValidationError as error:
        raise CommandError(error.messages[0]) from None
    return ticker


def _as_of(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise CommandError(f"--as-of {raw!r} is not an ISO 8601 time such as 2025-03-03T10:00-05:00") from None
    return moment.replace(tzinfo=NEW_YORK) if moment.tzinfo is None else moment


def _chain_from_file(path: str, ticker: str, as_of: datetime | None) -> OptionChain:
    try:
        pages = orjson.loads(Path(path).read_bytes())
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except orjson.JSONDecodeError as error:
        raise CommandError(f"{path} is not JSON: {error}") from None
    if not isinstance(pages, (dict, list)):
        raise CommandError(f"{path} holds neither a snapshot page nor an array of pages")
    try:
        chain = parse_snapshot_pages(pages, as_of=as_of)
    except SnapshotError as error:
        raise CommandError(f"{path}: {error}") from None
    return chain if chain.ticker else replace(chain, ticker=ticker)


def _fetch(ticker: str, config: EngineConfig) -> FetchedChain:
    from scanner.chain_source import fetch_chain

    try:
        return fetch_chain(ticker, config)
    except MarketDataError as error:
        raise CommandError(str(error)) from None


def _cell(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "ff":
        return f"{value:.3f}"
    if kind == "money":
        return f"{value:.2f}"
    return str(value)


def _term_table(result: ChainScan) -> str:
    lines = [f"{result.ticker} term structure (ATM IV per listed expiry)"]
    lines += [f"{p['expiry']}  {p['dte']:>3}d  {p['atm_iv']:>7.2%}  {p['source']}" for p in result.term_structure] or [
        "no expiry with an IV"
    ]
    return "\n".join(lines)


def _table(result: ChainScan) -> str:
    when = result.as_of.astimezone(UTC).isoformat(timespec="seconds") if result.as_of else "-"
    lines = [
        f"{result.ticker} @ {_cell(result.underlying_price, 'money')}  as of {when}  "
        f"{result.contracts} contracts" + (f", dropped {result.dropped}" if result.dropped else "")
    ]
    header = (
        "pair",
        "structure",
        "front",
        "back",
        "strike",
        "front iv",
        "back iv",
        "fwd iv",
        "FF",
        "FF cm",
        "FF ex-earn",
        "debit",
        "liquid",
        "flags / reasons",
    )
    rows = [header]
    for s in result.signals:
        strike = f"{s['strike']:g}" + (f"/{s['put_strike']:g}" if s.get("put_strike") is not None else "")
        notes = ", ".join(s["flags"] + s["reasons"])
        rows.append(
            (
                s["pair"],
                s["structure"],
                f"{s['front_expiry']} ({s['front_dte']}d)",
                f"{s['back_expiry']} ({s['back_dte']}d)",
                strike,
                _cell(s["front_iv"], "pct"),
                _cell(s["back_iv"], "pct"),
                _cell(s["forward_iv"], "pct"),
                _cell(s["ff"], "ff"),
                _cell(s["ff_constant_maturity"], "ff"),
                _cell(s["ff_ex_earnings"], "ff"),
                _cell(s["debit"], "money"),
                "yes" if s["passes_liquidity"] else "no",
                notes,
            )
        )
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    else:
        lines.append("no signals")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
