"""Celery configuration (DESIGN.md §5). Values that vary by deployment come from Django settings."""

from django.conf import settings
from kombu import Queue

broker_url = settings.CELERY_BROKER_URL or "memory://localhost/"
result_backend = settings.REDIS_URL or None
task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
task_eager_propagates = True

accept_content = ["json"]
task_serializer = "json"
result_serializer = "json"
result_expires = 3600
timezone = "UTC"
enable_utc = True

# A killed worker's task goes back to the queue; every task is idempotent because of this.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_soft_time_limit = 60
task_time_limit = 90
task_track_started = True
# Celery's Django fixup closes every database connection around every task unless this is set, so
# each task paid for a new PostgreSQL connection. Connections now live for CONN_MAX_AGE, checked
# around each task like around a web request (forwardfactor/celery.py).
CELERY_DB_REUSE_MAX = 1_000_000
worker_send_task_events = True
task_send_sent_event = True
broker_connection_retry_on_startup = True

# --- Redis going away (README "Reliability") ---------------------------------------------------
# The broker: reconnect forever (the default gives up after 100 attempts and the worker exits), and
# notice a dead or hung server in seconds rather than at the kernel's TCP timeout.
broker_connection_retry = True
broker_connection_max_retries = None
broker_connection_timeout = 4
# Redis redelivers unacked messages (a killed worker's) after this; longer than any task's hard limit
# and retry countdown (see settings). Workers sweep for them every tenth of it, at most every 10 s.
_visibility = settings.CELERY_VISIBILITY_TIMEOUT
broker_transport_options = {
    "visibility_timeout": _visibility,
    "unacked_restore_interval": max(1, min(10, _visibility // 10)),
    "unacked_restore_throttle": 1 if _visibility < 100 else 10,
    "socket_timeout": 10,
    "socket_connect_timeout": 4,
    "socket_keepalive": True,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
# The result backend: a worker child storing a result while Redis is away gives up after about 15 s
# (bounded retries, short socket timeouts) instead of hanging until the task's hard limit. Tasks whose
# result nobody reads (scans, sends, beat jobs) store none at all.
redis_socket_timeout = 5
redis_socket_connect_timeout = 3
redis_retry_on_timeout = True
redis_socket_keepalive = True
redis_backend_health_check_interval = 10
result_backend_always_retry = True
result_backend_max_retries = 3
result_backend_base_sleep_between_retries_ms = 200
result_backend_max_sleep_between_retries_ms = 2000
result_backend_transport_options = {"retry_policy": {"max_retries": 2, "interval_start": 0.2, "interval_max": 1}}

# Each task declares its own queue (scan: I/O-bound scans and the universe; notify: email).
task_default_queue = "scan"
task_queues = (Queue("scan"), Queue("notify"))

beat_scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
# Entries are created by migrations (editable in admin); see forwardfactor/schedules.py.
beat_schedule: dict = {}
