"""The leader lock on real Redis."""

import pytest

from scanner.stream.leader import LEADER_KEY, LeaderLock

pytestmark = pytest.mark.services


def test_a_lapsed_lease_nobody_took_is_kept(redis_client):
    # given a leader whose lease ran out while no standby was waiting
    leader = LeaderLock(redis_client, ttl_s=5)
    assert leader.try_acquire()
    redis_client.delete(LEADER_KEY)
    # when it renews
    # then it is still the leader, holding a fresh lease
    assert leader.keep()
    assert leader.holder() == leader.token
    assert 0 < redis_client.pttl(LEADER_KEY) <= 5000


def test_a_lapsed_lease_a_standby_took_is_given_up(redis_client):
    # given a leader whose lease ran out and a standby that took over
    leader, standby = LeaderLock(redis_client, ttl_s=5), LeaderLock(redis_client, ttl_s=5)
    assert leader.try_acquire()
    redis_client.delete(LEADER_KEY)
    assert standby.try_acquire()
    # when the old leader renews
    # then it steps down and the standby's lease is untouched
    assert not leader.keep()
    assert leader.holder() == standby.token
    leader.release()
    assert leader.holder() == standby.token
