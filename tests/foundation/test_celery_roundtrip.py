import pytest

from forwardfactor.celery import ping


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_redis_and_a_real_worker(live_worker):
    # given a worker consuming from Redis
    # when a task is sent by name through the broker
    result = ping.apply_async(args=["hello"], queue="scan")
    # then the worker runs it and the result comes back through the result backend
    assert result.get(timeout=20) == "hello"
    assert result.successful()
