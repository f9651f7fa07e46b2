"""Users, their alert settings and their ticker subscriptions."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef

from accounts.validators import normalize_ticker, validate_pairs, validate_ticker, validate_timezone

DEFAULT_PAIRS = ["30-60", "30-90", "60-90"]


def default_pairs() -> list[str]:
    return list(DEFAULT_PAIRS)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def with_verified_email(self):
        """Users whose login address is verified: the only addresses an alert may go to (double opt-in)."""
        verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True, email__iexact=OuterRef("email"))
        return self.get_queryset().filter(Exists(verified))


class User(AbstractUser):
    """A trader. The email address is the login."""

    username = None
    email = models.EmailField("email address", unique=True)
    discovery_mode = models.BooleanField(
        default=False,
        help_text="Also alert on names from the daily liquid-options universe that this user does not follow.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class AlertSettings(models.Model):
    """One user's thresholds, pairs, filters and delivery preferences."""

    class Delivery(models.TextChoices):
        INSTANT = "instant", "Instant"
        DAILY_DIGEST = "daily_digest", "Daily digest"

    class EarningsPolicy(models.TextChoices):
        """What earnings inside a pair's window (front IV inflated by the event) do to its alerts."""

        EX_EARNINGS = "ex_earnings", "Use the ex-earnings FF"
        SKIP = "skip", "Skip the pair"
        IGNORE = "ignore", "Ignore earnings (use the raw FF)"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="alert_settings")
    ff_threshold = models.FloatField(
        "FF threshold",
        default=0.20,
        validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text="Alert on a subscribed ticker when its Forward Factor reaches this value.",
    )
    discovery_threshold = models.FloatField(
        default=0.30,
        validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text="Alert on a discovery-universe ticker (not subscribed) when FF reaches this value.",
    )
    pairs = models.JSONField(
        "DTE pairs",
        default=default_pairs,
        validators=[validate_pairs],
        help_text='Front-back days to expiry, e.g. ["30-60", "30-90", "60-90"].',
    )
    front_tolerance_days = models.PositiveSmallIntegerField(default=5, validators=[MaxValueValidator(30)])
    back_tolerance_days = models.PositiveSmallIntegerField(default=10, validators=[MaxValueValidator(45)])
    atm_call_calendar = models.BooleanField("ATM call calendar", default=True)
    double_calendar = models.BooleanField("double calendar", default=True)
    min_open_interest = models.PositiveIntegerField("min open interest per leg", default=100)
    min_volume = models.PositiveIntegerField("min day volume per leg", default=10)
    max_spread_pct = models.FloatField(
        "max spread per leg (% of mid)", default=8.0, validators=[MinValueValidator(0.0), MaxValueValidator(100.0)]
    )
    max_spread_cost_pct = models.FloatField(
        "max spread cost (% of the mid debit)",
        default=25.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1000.0)],
        help_text="Alert only when paying the natural (buy at the ask, sell at the bid) costs at most this much "
        "more than the mid debit.",
    )
    earnings_policy = models.CharField(
        max_length=16,
        choices=EarningsPolicy.choices,
        default=EarningsPolicy.EX_EARNINGS,
        help_text="With an earnings date inside a pair's window: judge the ex-earnings FF, skip the pair, "
        "or judge the raw FF.",
    )
    cooldown_minutes = models.PositiveIntegerField(default=120, validators=[MaxValueValidator(7 * 24 * 60)])
    consecutive_scans = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Only alert once a signal was seen in this many consecutive scans.",
    )
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="America/New_York", validators=[validate_timezone])
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.INSTANT)
    daily_cap = models.PositiveIntegerField(default=20, help_text="At most this many alerts a day.")
    discovery_daily_cap = models.PositiveIntegerField(default=5, help_text="At most this many discovery alerts a day.")

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"Alert settings of {self.user}"

    def structures(self) -> list[str]:
        enabled = []
        if self.atm_call_calendar:
            enabled.append("atm_call_calendar")
        if self.double_calendar:
            enabled.append("double_calendar")
        return enabled


class Subscription(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="subscriptions")
    ticker = models.CharField(max_length=8, validators=[validate_ticker], db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticker"]
        constraints = [models.UniqueConstraint(fields=["user", "ticker"], name="unique_subscription")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.ticker}"

    def save(self, *args, **kwargs) -> None:
        self.ticker = normalize_ticker(self.ticker)
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None) -> None:
        # Normalise before the field validators run, so "aapl" is accepted as AAPL.
        self.ticker = normalize_ticker(self.ticker)
        super().clean_fields(exclude=exclude)
