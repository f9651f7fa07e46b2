from __future__ import annotations

import pytest

from tests.pipeline.smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink(settings):
    """A real local SMTP server; Django's SMTP backend is pointed at it."""
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def _pinned_site(settings):
    settings.SITE_URL = "https://ff.example"
