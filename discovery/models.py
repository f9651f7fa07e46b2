"""The discovery universe: one snapshot per NYSE session of the most liquid optionable stocks."""

from __future__ import annotations

from django.db import models

from accounts.validators import validate_ticker


class UniverseSnapshot(models.Model):
    """The discovery universe of one NYSE session: the top-N liquid optionable stocks."""

    session_date = models.DateField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "scanner_universesnapshot"  # kept from when the model lived in scanner
        ordering = ["-session_date"]
        get_latest_by = "session_date"

    def __str__(self) -> str:
        return f"Universe of {self.session_date}"


class UniverseMember(models.Model):
    snapshot = models.ForeignKey(UniverseSnapshot, on_delete=models.CASCADE, related_name="members")
    rank = models.PositiveIntegerField()
    ticker = models.CharField(max_length=8)
    volume = models.FloatField()
    dollar_volume = models.FloatField()

    class Meta:
        db_table = "scanner_universemember"  # kept from when the model lived in scanner
        ordering = ["snapshot", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "ticker"], name="unique_universe_ticker"),
            models.UniqueConstraint(fields=["snapshot", "rank"], name="unique_universe_rank"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.ticker}"


class UniverseExclusion(models.Model):
    """Tickers an operator keeps out of the discovery universe."""

    ticker = models.CharField(max_length=8, unique=True, validators=[validate_ticker])
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "scanner_universeexclusion"  # kept from when the model lived in scanner
        ordering = ["ticker"]

    def __str__(self) -> str:
        return self.ticker
