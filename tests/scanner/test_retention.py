"""Bounded storage (scanner.retention): old scans and signals rolled up exactly, deleted in batches, and
kept whenever something points at them; runs stopped half-way, repeated or side by side agree."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from alerts.models import Alert, Message
from forwardfactor.shared_state import shared_redis
from scanner.models import LatestSignal, RetentionProgress, Scan, ScanDay, Signal, SignalDay, Ticker
from scanner.retention import kept_references, prune_history, references, released_references
from scanner.stream.leader import LeaderLock
from scanner.tasks import PRUNE_LOCK_KEY
from testing.factories import delivered, saved_signals, signal_dict, user
from testing.polling import wait_for
from trades.models import Mark, PaperTrade, PlacedTrade
from trades.opening import open_trades

pytestmark = pytest.mark.services

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 20, 21, 0, tzinfo=UTC)
DAYS = 20
RETENTION = 14
CUTOFF = NOW - timedelta(days=RETENTION)
PAIRS = ("30-60", "60-90")
STRUCTURES = ("atm_call_calendar", "double_calendar")


def ff_of(ticker: str, day: int, scan: int, pair: str, structure: str) -> float | None:
    """Varied figures, some missing (an inverted pair), so minimum, maximum and last differ."""
    if (day + scan + len(pair)) % 7 == 0:
        return None
    return round(0.05 + ((day * 7 + scan * 13 + len(ticker) * 3 + len(structure) + int(pair[:2])) % 41) / 100, 4)


def store_history(tickers=("AAPL", "MSFT"), days=DAYS, scans_a_day=3, now: datetime = NOW) -> None:
    """``days`` days up to NOW of a few scans a day per ticker, each with every pair as both structures,
    plus a failed scan a day without signals; times vary so that the New York day differs from UTC's."""
    for day in range(days):
        for ticker in tickers:
            for scan in range(scans_a_day):
                as_of = now - timedelta(days=days - 1 - day, hours=6 - 2.5 * scan, minutes=len(ticker))
                signals = []
                for pair in PAIRS:
                    for structure in STRUCTURES:
                        ff = ff_of(ticker, day, scan, pair, structure)
                        signal = signal_dict(ticker, structure=structure, pair=pair, ff=ff, as_of=as_of)
                        signal.update(
                            forward_iv=0.2 + scan / 100,
                            underlying_price=100 + day + scan / 10,
                            passes_liquidity=(day + scan) % 3 != 0,
                        )
                        signals.append(signal)
                rows = saved_signals(*signals)
                Scan.objects.filter(pk=rows[0].scan_id).update(
                    as_of=as_of, requests=4 + scan, contracts=100 * (scan + 1), underlying_price=100 + day
                )
            Scan.objects.create(
                ticker=ticker,
                reason=Scan.Reason.HEARTBEAT,
                outcome=Scan.Outcome.FAILED,
                started_at=now - timedelta(days=days - 1 - day, hours=7),
                requests=1,
            )


def expected_rollups() -> tuple[dict, dict]:
    """The rollups recomputed here from the stored rows, independently of scanner.retention."""
    old_scans = {s.pk: s for s in Scan.objects.filter(started_at__lt=CUTOFF)}
    scan_days: dict = defaultdict(lambda: {"scans": 0, "outcomes": Counter(), "reasons": Counter(), "requests": 0})
    for scan in old_scans.values():
        key = (scan.ticker, (scan.as_of or scan.started_at).astimezone(NEW_YORK).date())
        scan_days[key]["scans"] += 1
        scan_days[key]["outcomes"][scan.outcome] += 1
        scan_days[key]["reasons"][scan.reason] += 1
        scan_days[key]["requests"] += scan.requests
    groups: dict = defaultdict(list)
    for signal in Signal.objects.filter(scan_id__in=old_scans):
        groups[(signal.ticker, signal.pair, signal.structure, signal.as_of.astimezone(NEW_YORK).date())].append(signal)
    signal_days = {}
    for key, signals in groups.items():
        last = max(signals, key=lambda s: (s.as_of, s.pk))
        figures = [s.ff for s in signals if s.ff is not None]
        signal_days[key] = {
            "signals": len(signals),
            "passing": sum(s.passes_liquidity for s in signals),
            "first_as_of": min(s.as_of for s in signals),
            "last_as_of": last.as_of,
            "ff_last": last.ff,
            "ff_min": min(figures, default=None),
            "ff_max": max(figures, default=None),
            "forward_iv": last.data["forward_iv"],
            "underlying_price": last.data["underlying_price"],
            "front_expiry": last.front_expiry,
        }
    return {k: {**v, "outcomes": dict(v["outcomes"]), "reasons": dict(v["reasons"])} for k, v in scan_days.items()}, (
        signal_days
    )


def stored_rollups() -> tuple[dict, dict]:
    scan_days = {
        (d.ticker, d.day): {
            "scans": d.scans,
            "outcomes": d.outcomes,
            "reasons": d.reasons,
            "requests": d.requests,
        }
        for d in ScanDay.objects.all()
    }
    signal_days = {
        (d.ticker, d.pair, d.structure, d.day): {
            "signals": d.signals,
            "passing": d.passing,
            "first_as_of": d.first_as_of,
            "last_as_of": d.last_as_of,
            "ff_last": d.ff_last,
            "ff_min": d.ff_min,
            "ff_max": d.ff_max,
            "forward_iv": d.forward_iv,
            "underlying_price": d.underlying_price,
            "front_expiry": d.front_expiry,
        }
        for d in SignalDay.objects.all()
    }
    return scan_days, signal_days


def state() -> dict:
    """Everything pruning touches, to compare runs."""
    return {
        "scans": sorted(Scan.objects.values_list("pk", flat=True)),
        "signals": sorted(Signal.objects.values_list("pk", flat=True)),
        "rollups": stored_rollups(),
        "mark": RetentionProgress.objects.values_list("through_scan_id", flat=True).first(),
    }


def test_pruning_rolls_up_exactly_what_it_deletes_and_only_rows_past_the_window(db):
    # given 20 days of scans of two tickers; nothing points at them but the board and the tickers' last scans
    store_history()
    expected_scans, expected_signals = expected_rollups()
    recent_scans = set(Scan.objects.filter(started_at__gte=CUTOFF).values_list("pk", flat=True))
    recent_signals = set(Signal.objects.filter(scan_id__in=recent_scans).values_list("pk", flat=True))
    # when history older than 14 days is pruned in batches of 7 scans
    report = prune_history(NOW, retention_days=RETENTION, batch_size=7)
    # then the rollups hold exactly the figures recomputed from the rows before
    assert stored_rollups() == (expected_scans, expected_signals)
    assert len(expected_signals) >= 6 * 2 * 4  # six days of every ticker x pair x structure
    # and every scan of the window is whole, while the old ones are gone
    assert set(Scan.objects.values_list("pk", flat=True)) == recent_scans
    assert set(Signal.objects.values_list("pk", flat=True)) == recent_signals
    assert report.scans == sum(d["scans"] for d in expected_scans.values()) == report.scans_deleted
    assert report.signals == sum(d["signals"] for d in expected_signals.values()) == report.signals_deleted
    assert report.finished and report.scans_kept == 0
    # and the batch size was respected
    assert max(report.batch_sizes) == 7 and report.batches == -(-report.scans // 7)


def test_rows_that_others_point_at_are_rolled_up_but_kept(db):
    # given old history, and old rows that the board, a ticker, an alert and trades point at
    gone_quiet = saved_signals(signal_dict("QUIET", as_of=NOW - timedelta(days=30)))[0]  # its board row is old
    Ticker.objects.create(symbol="QUIET", last_scan=gone_quiet.scan)
    store_history(days=18)
    old_scans = list(Scan.objects.filter(started_at__lt=CUTOFF, outcome="ok").exclude(ticker="QUIET").order_by("pk"))
    alerted, traded, placed_from = (old_scans[i].signals.order_by("pk").first() for i in (0, 5, 9))
    trader = user("trader@example.com", follows=("AAPL",))
    message = delivered(trader, alerted, Message.Status.SENT, ff_bucket=6)
    traded.ff = traded.data["ff"] = 0.3  # the reference rule trades it
    traded.passes_liquidity = traded.data["passes_liquidity"] = True
    traded.save()
    open_trades([traded])
    trade = PaperTrade.objects.get(signal=traded)
    marked_by = old_scans[10]  # a later scan of the same ticker, kept by nothing
    mark = Mark.objects.create(trade=trade, scan=marked_by, at=marked_by.started_at, legs=[], mid=1, natural=1, fill=1)
    PlacedTrade.objects.create(
        user=trader, alert_id=0, signal=placed_from, ticker=placed_from.ticker, structure=placed_from.structure,
        pair=placed_from.pair, front_expiry=placed_from.front_expiry, back_expiry=placed_from.back_expiry,
        strike=100, strikes="100", legs=[], quoted_at=placed_from.as_of, placed_at=placed_from.as_of,
        realistic_fill=1.3, fill_share=0.25, commission_per_contract=0.65,
    )  # fmt: skip
    expected = expected_rollups()
    # when history is pruned
    report = prune_history(NOW, retention_days=RETENTION, batch_size=10)
    # then those rows stay whole, every other old row is gone, and all of them are in the rollups
    kept_scans = {alerted.scan_id, traded.scan_id, placed_from.scan_id, gone_quiet.scan_id}
    assert set(Scan.objects.filter(started_at__lt=CUTOFF).values_list("pk", flat=True)) == kept_scans
    assert Signal.objects.filter(scan_id__in=kept_scans).count() == 3 * 4 + 1  # every signal of a kept scan
    assert report.scans_kept == 4
    assert stored_rollups() == expected
    # and what pointed at them still does: the alert and its message, the trades, the board
    assert Alert.objects.get(message=message).signal_id == alerted.pk
    assert PaperTrade.objects.get().signal_id == traded.pk
    assert PlacedTrade.objects.get().signal_id == placed_from.pk
    assert LatestSignal.objects.get(ticker="QUIET").signal_id == gone_quiet.pk
    assert Ticker.objects.get(symbol="QUIET").last_scan_id == gone_quiet.scan_id
    # and a mark, which keeps its own quotes, lost only the link to the pruned scan that quoted it
    mark.refresh_from_db()
    assert mark.scan_id is None and mark.mid == 1


def test_every_reference_to_scans_and_signals_is_either_kept_or_released():
    # given the foreign keys of every installed app that point at scans and signals
    every = {fk.model._meta.label + "." + fk.name for target in (Scan, Signal) for fk in references(target)}
    kept = {fk.model._meta.label + "." + fk.name for target in (Scan, Signal) for fk in kept_references(target)}
    released = {fk.model._meta.label + "." + fk.name for fk in released_references()}
    # then only marks' scans are let go; the rest (a new reference too, by default) keep their rows
    assert released == {"trades.Mark.scan", "trades.PlacedMark.scan"}
    assert kept == every - released
    assert kept >= {
        "scanner.Ticker.last_scan",
        "scanner.LatestSignal.scan",
        "scanner.LatestSignal.signal",
        "alerts.Message.scan",
        "alerts.Alert.signal",
        "trades.PaperTrade.signal",
        "trades.PlacedTrade.signal",
    }


def test_a_second_run_changes_nothing_and_a_stopped_run_resumes_where_it_stopped(db):
    # given old history, pruned by a run that stops after three batches (a crash after a commit)
    store_history(days=17)
    expected = expected_rollups()

    class Stopped(Exception):
        pass

    def crash_after_three(report) -> None:
        if report.batches == 3:
            raise Stopped

    with pytest.raises(Stopped):
        prune_history(NOW, retention_days=RETENTION, batch_size=5, progress=crash_after_three)
    assert RetentionProgress.objects.get().through_scan_id > 0
    # when it is run again to the end, and once more
    prune_history(NOW, retention_days=RETENTION, batch_size=5)
    once = state()
    again = prune_history(NOW, retention_days=RETENTION, batch_size=5)
    # then the rollups are exact (no scan added twice) and the second full run did nothing
    assert stored_rollups() == expected
    assert again.batches == 0 and state() == once


def test_a_dry_run_counts_what_a_run_does_and_changes_nothing(db):
    # given old history
    store_history(days=17)
    before = state()
    # when a dry run goes over it, then a real run
    dry = prune_history(NOW, retention_days=RETENTION, batch_size=4, dry_run=True)
    assert state() == before
    real = prune_history(NOW, retention_days=RETENTION, batch_size=4)
    # then the dry run said what the real run did
    assert dry.dry_run and not real.dry_run
    same = ("batches", "scans", "signals", "scans_deleted", "signals_deleted", "scans_kept", "scan_days", "signal_days")
    assert {k: getattr(dry, k) for k in same} == {k: getattr(real, k) for k in same}
    assert real.signal_days == SignalDay.objects.count() and real.scan_days == ScanDay.objects.count()


def test_nothing_is_pruned_with_retention_off(db):
    store_history(days=16)
    before = state()
    report = prune_history(NOW, retention_days=0)
    assert report.batches == 0 and state() == before


@pytest.mark.django_db(transaction=True)
def test_runs_side_by_side_take_turns_and_add_every_scan_once():
    # given old history
    store_history(days=18)
    expected = expected_rollups()
    start = threading.Barrier(3)
    reports, errors = [], []

    def run() -> None:
        try:
            start.wait(timeout=30)
            reports.append(prune_history(NOW, retention_days=RETENTION, batch_size=3))
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    # when three runs prune it at the same time
    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then together they rolled up each scan once, exactly, and deleted the old rows
    assert not errors
    assert stored_rollups() == expected
    assert sum(r.scans for r in reports) == sum(d["scans"] for d in expected[0].values())
    assert not Scan.objects.filter(started_at__lt=CUTOFF).exists()


def test_the_command_prunes_with_progress_and_explains_itself(db, capsys):
    # given history up to now (the command prunes by the wall clock, as the beat task does)
    now = timezone.now()
    store_history(days=16, now=now)
    old = Scan.objects.filter(started_at__lt=now - timedelta(days=14))
    assert old.exists()
    # when the command runs as a dry run, then for real
    call_command("prune_history", "--dry-run", "--days", "14", "--batch-size", "4")
    dry = capsys.readouterr()
    assert old.exists()
    call_command("prune_history", "--days", "14", "--batch-size", "4")
    real = capsys.readouterr()
    # then it reports per batch on stderr, and what it did (or would do) on stdout
    assert "Would roll up" in dry.out and "would delete" in dry.out
    assert "batch 1:" in real.err and "Rolled up" in real.out and "deleted" in real.out
    assert not old.exists() and ScanDay.objects.exists()
    with pytest.raises(SystemExit):
        call_command("prune_history", "--help")
    assert "SIGNAL_RETENTION_DAYS" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_prunes_on_a_real_worker(settings, live_worker, shared_state_reset):
    # given history up to now, two weeks of it older than the window
    settings.SIGNAL_RETENTION_DAYS = 14
    now = timezone.now()
    store_history(days=16, now=now)
    old = Scan.objects.filter(started_at__lt=now - timedelta(days=14))
    assert old.exists()
    # when beat's task reaches a worker
    from scanner.tasks import prune_history as task

    task.apply_async()
    # then the old scans are rolled up and gone, and the lock is free again
    wait_for(lambda: not old.exists(), 60, "the worker to prune the old scans")
    assert ScanDay.objects.exists() and SignalDay.objects.exists()
    wait_for(lambda: shared_redis().get(PRUNE_LOCK_KEY) is None, 10, "the task to release its lock")


def test_a_run_while_another_holds_the_lock_does_nothing(db, settings, redis_url, shared_state_reset):
    # given history, and another run holding the prune lock
    now = timezone.now()
    store_history(days=16, now=now)
    before = state()
    other = LeaderLock(shared_redis(), 30, key=PRUNE_LOCK_KEY, identity="other")
    assert other.try_acquire()
    # when beat's task runs
    from scanner.tasks import prune_history as task

    outcome = task.apply().get()
    # then it steps aside and changes nothing
    assert outcome == {"skipped": f"another prune is running ({other.token})"}
    assert state() == before
    other.release()
