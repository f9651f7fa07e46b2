"""All configuration, read from the environment in one place.

With no environment at all the service runs on embedded defaults: SQLite under var/, Celery eager
in-process, in-process shared state, the simulated market, email written to files under var/.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FF_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off")


def env_number(name: str, default: float, cast: type = float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return cast(default)
    try:
        return cast(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


INSECURE_SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY") or INSECURE_SECRET_KEY
if not DEBUG and SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is empty or the development default. Set SECRET_KEY to a long "
        "random string, e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "accounts",
    "scanner",
    "discovery",
    "alerts",
    "trades",
    "demo",
    "web",  # before allauth: its templates override allauth's layout
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "forwardfactor.urls"
WSGI_APPLICATION = "forwardfactor.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'forwardfactor.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not understood ({exc}); use sqlite:///path or postgres://…") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Eager tasks and the stream consumer share the file: wait for the writer instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Shared state and Celery -------------------------------------------------------------------
# Without REDIS_URL, locks, the rate limiter and stream references live in an in-process Redis
# (fakeredis) and Celery runs tasks eagerly: one process, no services.
REDIS_URL = env_str("REDIS_URL")
if not DEBUG and not REDIS_URL:
    raise ImproperlyConfigured(
        "DEBUG is off but REDIS_URL is empty: without it every process runs tasks, locks and the rate limit "
        "alone in memory. Set REDIS_URL, e.g. REDIS_URL=redis://redis:6379/0"
    )
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Redis redelivers a task a worker took but never acknowledged after this many seconds (killed workers).
# It must exceed every task's hard time limit and longest retry countdown (a worker holds a countdown's
# message unacked until it runs); scans of a dead worker come back sooner through the sweeper.
CELERY_VISIBILITY_TIMEOUT = int(env_number("CELERY_VISIBILITY_TIMEOUT", 600, int))

# --- Market data -------------------------------------------------------------------------------
POLYGON_API_KEY = env_str("POLYGON_API_KEY")
POLYGON_REST_URL = env_str("POLYGON_REST_URL", "https://api.polygon.io").rstrip("/")
POLYGON_WS_URL = env_str("POLYGON_WS_URL", "wss://socket.polygon.io/stocks")
# Requests per second across every worker sharing the key; "5/60" (5 per minute) suits a free key.
POLYGON_MAX_RPS = env_str("POLYGON_MAX_RPS", "10")
# Embedded default: no key configured means the simulated market (see `manage.py marketsim`).
MARKET_SIMULATED = not POLYGON_API_KEY
# In production a missing key must not quietly mean simulated prices emailed to real users: the
# operator says so explicitly, and the admin and every email then carry SIMULATED_MARKET_LABEL.
MARKET_SIMULATED_OK = env_bool("MARKET_SIMULATED_OK", False)
if not DEBUG and MARKET_SIMULATED and not MARKET_SIMULATED_OK:
    raise ImproperlyConfigured(
        "DEBUG is off but POLYGON_API_KEY is empty: the service would scan a simulated market and email its "
        "signals to real users. Set POLYGON_API_KEY, or MARKET_SIMULATED_OK=1 if a simulated market is meant"
    )
# What the admin header and emails print (forwardfactor.runtime.simulated_market_label follows overrides).
SIMULATED_MARKET_LABEL = "SIMULATED DATA" if MARKET_SIMULATED else ""
# The in-process simulated market started when there is neither a key nor a POLYGON_REST_URL.
MARKETSIM_SEED = int(env_number("MARKETSIM_SEED", 7, int))
MARKETSIM_NAMES = int(env_number("MARKETSIM_NAMES", 600, int))  # symbols listed, as `marketsim --names`
MARKETSIM_SPEED = env_number("MARKETSIM_SPEED", 60.0)  # simulated seconds per wall second, as `marketsim --speed`

# --- Signal engine -----------------------------------------------------------------------------
# r for the forward F = S·e^{rT} and for IVs solved from mids (when the vendor sends none).
RISK_FREE_RATE = env_number("RISK_FREE_RATE", 0.045)
STALE_QUOTE_MINUTES = env_number("STALE_QUOTE_MINUTES", 15)  # legs quoted longer ago are flagged stale

# --- Discovery universe ------------------------------------------------------------------------
UNIVERSE_SIZE = int(env_number("UNIVERSE_SIZE", 100, int))  # 0: every optionable name above the floors
UNIVERSE_MIN_PRICE = env_number("UNIVERSE_MIN_PRICE", 5.0)
# Names trading less than this many dollars a day (volume x VWAP) stay out of the universe, whatever its size.
UNIVERSE_MIN_DOLLAR_VOLUME = env_number("UNIVERSE_MIN_DOLLAR_VOLUME", 0.0)
DISCOVERY_SWEEP_MINUTES = int(env_number("DISCOVERY_SWEEP_MINUTES", 30, int))
# An optionable underlying the vendor stopped listing leaves the followable list after this many days.
OPTIONABLE_UNDERLYINGS_KEEP_DAYS = int(env_number("OPTIONABLE_UNDERLYINGS_KEEP_DAYS", 5, int))

# --- Bounded storage (scanner/retention.py) ----------------------------------------------------
# Scans and their signals are kept whole this many days (by when the scan started), then rolled up into
# one row per ticker x pair x structure a day (and one per ticker a day for the scans) and deleted; rows
# that alerts, trades or the board still point at are rolled up but kept. 0: keep everything.
SIGNAL_RETENTION_DAYS = int(env_number("SIGNAL_RETENTION_DAYS", 14, int))
RETENTION_BATCH_SCANS = int(env_number("RETENTION_BATCH_SCANS", 500, int))  # scans (and their signals) a transaction
RETENTION_RUN_SECONDS = env_number("RETENTION_RUN_SECONDS", 45)  # one beat run's budget; a backlog takes more runs

# --- Stream consumer (manage.py stream) --------------------------------------------------------
# Real-time or delayed feed: pick it with POLYGON_WS_URL (delayed: wss://delayed.polygon.io/stocks).
STREAM_CHANNEL = env_str("STREAM_CHANNEL", "A").upper()  # A per-second aggregates, AM per-minute, T trades
STREAM_MOVE_THRESHOLD = env_number("STREAM_MOVE_THRESHOLD", 0.005)  # rescan on a 0.5% move since the last scan
STREAM_MIN_INTERVAL_S = env_number("STREAM_MIN_INTERVAL_S", 60)  # per ticker, between move scans
# The trigger rule (scanner/stream/rule.py): a volatile, costly ticker scans at once on a larger move, and
# its STREAM_MOVE_THRESHOLD moves within STREAM_MAX_WAIT_S (0: every ticker scans on the move itself).
# The default wait is the heartbeat's hour: the rule's derivation says a costly ticker's best wait is the longest.
STREAM_MAX_WAIT_S = env_number("STREAM_MAX_WAIT_S", 3600)
STREAM_REFERENCE_VOL = env_number("STREAM_REFERENCE_VOL", 0.30)  # ATM IV at which the move itself triggers
STREAM_REFERENCE_COST = env_number("STREAM_REFERENCE_COST", 4)  # chain requests of such a ticker's scan
STREAM_STALL_S = env_number("STREAM_STALL_S", 30)  # no message this long in a session: reconnect
STREAM_RECONCILE_S = env_number("STREAM_RECONCILE_S", 180)  # re-read the watch set from the database
STREAM_LEADER_TTL_S = env_number("STREAM_LEADER_TTL_S", 6)  # a standby takes over within ttl + 1 s
STREAM_HEALTH_MAX_AGE_S = env_number("STREAM_HEALTH_MAX_AGE_S", 90)  # `stream --check` fails past this
STREAM_METRICS_INTERVAL_S = env_number("STREAM_METRICS_INTERVAL_S", 60)
# Watch sets larger than this hold one wildcard subscription (A.*) and drop other names' events locally;
# smaller ones subscribe name by name. Negative: always name by name.
STREAM_WILDCARD_ABOVE = env_number("STREAM_WILDCARD_ABOVE", 1000, int)
HEARTBEAT_STALE_MINUTES = env_number("HEARTBEAT_STALE_MINUTES", 60)  # heartbeat rescans tickers older than this

# --- Email -------------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = int(env_number("EMAIL_PORT", 25, int))
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(env_number("EMAIL_TIMEOUT", 30, int))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Forward Factor <alerts@forwardfactor.local>")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "alerts.emails.EmlFileBackend"
)

# --- Alerts ------------------------------------------------------------------------------------
ALERT_BATCH_SIZE = int(env_number("ALERT_BATCH_SIZE", 100, int))  # messages per send_messages task / SMTP connection
# Accepted messages whose SMTP receipts are kept in Redis are marked sent this many to an UPDATE (1: each at once).
ALERT_MARK_SENT_EVERY = max(1, int(env_number("ALERT_MARK_SENT_EVERY", 25, int)))
ALERT_FF_BUCKET = env_number("ALERT_FF_BUCKET", 0.05)  # FF levels of the alert unique key
ALERT_COOLDOWN_BREAK_FF = env_number("ALERT_COOLDOWN_BREAK_FF", 0.05)  # FF rise that breaks a user's cooldown
try:  # when daily-digest users get their digest, in each user's own time zone
    ALERT_DIGEST_TIME = datetime.time.fromisoformat(env_str("ALERT_DIGEST_TIME", "17:30"))
except ValueError:
    raise ImproperlyConfigured(f"ALERT_DIGEST_TIME={env_str('ALERT_DIGEST_TIME')!r} is not a time: use HH:MM") from None
# A send task's claim on its messages, renewed every third of it while the task lives: a dead worker's
# messages are released within this long and re-sent by the next sweep (every 20 s).
ALERT_SEND_LEASE_SECONDS = int(env_number("ALERT_SEND_LEASE_SECONDS", 30, int))
# A claim made before claims had leases (no lease_until) lapses this long after it was made.
ALERT_SEND_LEASE_MINUTES = int(env_number("ALERT_SEND_LEASE_MINUTES", 15, int))
# A pending message whose send task was queued this long ago is queued again (the task was lost).
ALERT_PENDING_REQUEUE_SECONDS = env_number("ALERT_PENDING_REQUEUE_SECONDS", 60)
UNSUBSCRIBE_MAX_AGE_DAYS = int(env_number("UNSUBSCRIBE_MAX_AGE_DAYS", 60, int))  # lifetime of unsubscribe links
# The single-flight lock's lease, renewed every third of it while a scan runs: a dead worker's lock is
# free within this long, and the sweeper re-queues its scan soon after.
SCAN_LOCK_SECONDS = int(env_number("SCAN_LOCK_SECONDS", 20, int))
# Longer than a scan may take (the scan task's hard limit, 90 s, plus a margin): a running scan silent
# this long is dead, whatever its lock says.
SCAN_STALE_SECONDS = int(env_number("SCAN_STALE_SECONDS", 100, int))
FOLLOW_LINK_MAX_AGE_DAYS = int(env_number("FOLLOW_LINK_MAX_AGE_DAYS", 14, int))  # lifetime of "follow" links
# Lifetime of the "I placed this" / "Ignore" links: longer than the longest pair a signal holds to its front expiry.
PLACED_LINK_MAX_AGE_DAYS = int(env_number("PLACED_LINK_MAX_AGE_DAYS", 120, int))

# --- Track record (trades/): paper trades of the reference rule (README "Track record") ----------
TRADES_MIN_FF = env_number("TRADES_MIN_FF", 0.20)  # on the ex-earnings FF when earnings fall in the window
TRADES_FILL_SHARE = env_number("TRADES_FILL_SHARE", 0.25)  # realistic fill: this share of the way mid -> natural
TRADES_COMMISSION_PER_CONTRACT = env_number("TRADES_COMMISSION_PER_CONTRACT", 0.65)  # $ per contract per leg
TRADES_EXIT_MINUTES_BEFORE_CLOSE = env_number(
    "TRADES_EXIT_MINUTES_BEFORE_CLOSE", 15
)  # of the last session before the front expiry
# The daily targeted mark (trades.mark_open_trades) starts this many minutes before the default exit time,
# so trades due today close on a fresh mark; later beat ticks until the close only fetch what it missed.
TRADES_DAILY_MARK_MINUTES_BEFORE_EXIT = env_number("TRADES_DAILY_MARK_MINUTES_BEFORE_EXIT", 5)
# Optional exits, off when empty: take profit at this % of the debit (realistic fill), hold at most N days.
TRADES_TAKE_PROFIT_PCT = env_number("TRADES_TAKE_PROFIT_PCT", 0) or None
TRADES_MAX_HOLD_DAYS = env_number("TRADES_MAX_HOLD_DAYS", 0) or None
# Reminders of a user's placed trade (README "I placed this"): this long before the close of the last
# session before the front expiry (15:00 New York on a full day), and at the open on expiry day.
PLACED_REMINDER_MINUTES_BEFORE_CLOSE = env_number("PLACED_REMINDER_MINUTES_BEFORE_CLOSE", 60)

# --- The trader's site (web/): accounts, static files, Content-Security-Policy, cache -----------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the admin's login form
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Email is the login (accounts.User has no username); an address is verified before any alert goes
# to it (double opt-in: an alert service must not be a way to mail strangers).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Forward Factor: "
# allauth's rate limits stay at their defaults (ACCOUNT_RATE_LIMITS unset); they count in the cache below.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:tickers"
ACCOUNT_LOGOUT_REDIRECT_URL = "web:home"

# With REDIS_URL the rate-limit counters are shared by every web worker; without it, in-process.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "ff:cache"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# WhiteNoise serves collected, hashed and compressed files in production; in development (and tests)
# the plain storage and the finders serve the apps' static folders, no collectstatic needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# The site's pages load scripts and styles from our own static files only: no inline code. The admin
# (staff only) is left out: Django's admin templates carry inline styles.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Production hardening (manage.py check --deploy is clean when DEBUG is off) -----------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env_number("SECURE_HSTS_SECONDS", 31536000, int))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The simulated market's per-request lines drown command output.
        "websockets": {"level": "WARNING"},
    },
}
