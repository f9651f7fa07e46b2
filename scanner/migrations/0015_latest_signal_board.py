# The board's read model (the latest signal of each ticker x pair x structure) and each ticker's latest
# completed scan, both filled from the scans already stored so an existing database gets a board.

from datetime import date

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

BATCH = 2000


def fill_the_board(apps, schema_editor):
    # The rule of scanner.latest.latest_row, on the historical models (migrations do not import app code).
    signal = apps.get_model("scanner", "Signal")
    latest = apps.get_model("scanner", "LatestSignal")
    newest_of_key = (
        signal.objects.filter(ticker=OuterRef("ticker"), structure=OuterRef("structure"), pair=OuterRef("pair"))
        .order_by("-as_of", "-pk")
        .values("pk")[:1]
    )
    rows = []
    for row in signal.objects.filter(pk=Subquery(newest_of_key)).iterator(chunk_size=BATCH):
        data = row.data or {}
        earnings = sorted(data.get("earnings_dates") or [])
        rows.append(
            latest(
                ticker=row.ticker,
                pair=row.pair,
                structure=row.structure,
                signal_id=row.pk,
                scan_id=row.scan_id,
                front_expiry=row.front_expiry,
                back_expiry=row.back_expiry,
                ff=row.ff,
                ff_ex_earnings=data.get("ff_ex_earnings"),
                forward_iv=data.get("forward_iv"),
                spread_cost_pct=data.get("spread_cost_pct"),
                passes_liquidity=row.passes_liquidity,
                reasons=list(data.get("reasons") or []),
                earnings_date=date.fromisoformat(earnings[0]) if earnings else None,
                as_of=row.as_of,
            )
        )
        if len(rows) == BATCH:
            latest.objects.bulk_create(rows)
            rows = []
    latest.objects.bulk_create(rows)

    scan = apps.get_model("scanner", "Scan")
    ticker = apps.get_model("scanner", "Ticker")
    completed = scan.objects.filter(ticker=OuterRef("symbol"), outcome__in=["ok", "no_pair", "no_data"])
    ticker.objects.update(
        last_scan=Subquery(completed.filter(finished_at__isnull=False).order_by("-finished_at", "-pk").values("pk")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scanner", "0014_optionable_underlying"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticker",
            name="last_scan",
            field=models.ForeignKey(
                blank=True,
                help_text="Its latest completed scan (the board says why a ticker has no signal from it).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="scanner.scan",
            ),
        ),
        migrations.CreateModel(
            name="LatestSignal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("ticker", models.CharField(max_length=8)),
                ("pair", models.CharField(max_length=9)),
                ("structure", models.CharField(max_length=24)),
                ("front_expiry", models.DateField()),
                ("back_expiry", models.DateField()),
                ("ff", models.FloatField(blank=True, null=True)),
                ("ff_ex_earnings", models.FloatField(blank=True, null=True)),
                ("forward_iv", models.FloatField(blank=True, null=True)),
                ("spread_cost_pct", models.FloatField(blank=True, null=True)),
                ("passes_liquidity", models.BooleanField(default=False)),
                (
                    "reasons",
                    models.JSONField(
                        blank=True, default=list, help_text="Why a leg fails the engine's liquidity floors."
                    ),
                ),
                (
                    "earnings_date",
                    models.DateField(blank=True, help_text="The first known earnings date in the window.", null=True),
                ),
                ("as_of", models.DateTimeField(help_text="When the market data of the signal was current.")),
                (
                    "scan",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="scanner.scan"),
                ),
                (
                    "signal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="scanner.signal"
                    ),
                ),
            ],
            options={
                "ordering": ["ticker", "pair", "structure"],
                "constraints": [
                    models.UniqueConstraint(fields=("ticker", "pair", "structure"), name="unique_latest_signal")
                ],
            },
        ),
        migrations.RunPython(fill_the_board, migrations.RunPython.noop),
    ]
