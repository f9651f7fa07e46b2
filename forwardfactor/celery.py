"""The Celery app: configured from celeryconfig.py, tasks discovered in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forwardfactor.settings")

app = Celery("forwardfactor")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()


@app.task(name="forwardfactor.ping")
def ping(value: str = "pong") -> str:
    """Round-trip probe for operators and the broker test."""
    return value
