import pytest

from accounts.models import Subscription, User
from demo.users import ADMIN_EMAIL, ADMIN_PASSWORD, SUBSCRIBER_EMAIL, SUBSCRIBER_PASSWORD, seed_demo_users


@pytest.mark.django_db
def test_seeding_twice_leaves_one_consistent_cast():
    # given a first seeding
    seed_demo_users(["SPY", "AAPL"])
    # when the demo is run again with another list
    cast = seed_demo_users(["aapl", "TSLA"])
    # then the same users exist once, with the latest subscriptions, and the admin can log in
    assert User.objects.count() == 4
    assert set(Subscription.objects.filter(user=cast.subscriber).values_list("ticker", flat=True)) == {"AAPL", "TSLA"}
    assert cast.discovery.discovery_mode and not cast.nobody.discovery_mode and not cast.subscriber.discovery_mode
    assert not Subscription.objects.filter(user__in=[cast.discovery, cast.nobody]).exists()
    assert User.objects.get(email=ADMIN_EMAIL).check_password(ADMIN_PASSWORD)


@pytest.mark.django_db
def test_the_cast_has_verified_addresses_and_the_subscriber_can_sign_in():
    # given the demo's cast, seeded twice (the demo runs again and again)
    seed_demo_users(["SPY"])
    cast = seed_demo_users(["SPY"])
    # then every demo user may receive alerts, and the subscriber signs in with the printed password
    assert set(User.objects.with_verified_email().values_list("email", flat=True)) == {
        cast.admin.email,
        cast.subscriber.email,
        cast.discovery.email,
        cast.nobody.email,
    }
    assert User.objects.get(email=SUBSCRIBER_EMAIL).check_password(SUBSCRIBER_PASSWORD)
