"""Alerts go to verified addresses only: the query routing uses, and the migration that counts the
users operators created before sign-up existed as verified."""

from __future__ import annotations

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps

from accounts.models import User

pytestmark = pytest.mark.django_db

existing_addresses_verified = importlib.import_module("accounts.migrations.0003_existing_addresses_verified")


def test_only_users_whose_login_address_is_verified_qualify():
    # given users: verified, unverified, verified on another address than their login, none at all
    verified = User.objects.create_user("verified@example.com")
    EmailAddress.objects.create(user=verified, email="verified@example.com", verified=True, primary=True)
    pending = User.objects.create_user("pending@example.com")
    EmailAddress.objects.create(user=pending, email="pending@example.com", verified=False, primary=True)
    moved = User.objects.create_user("moved@example.com")
    EmailAddress.objects.create(user=moved, email="old@example.com", verified=True, primary=False)
    User.objects.create_user("bare@example.com")
    # then only the first may receive alerts, in one query usable as a subquery
    assert list(User.objects.with_verified_email().values_list("email", flat=True)) == ["verified@example.com"]


def test_the_migration_marks_every_existing_address_verified_and_keeps_existing_records():
    # given an operator's users, one of whom already has an (unverified) address record
    operator_made = User.objects.create_user("Trader@Example.com")
    signed_up = User.objects.create_user("self@example.com")
    EmailAddress.objects.create(user=signed_up, email="self@example.com", verified=False, primary=True)
    # when the data migration runs
    existing_addresses_verified.mark_existing_addresses_verified(apps, None)
    # then the operator's user counts as verified; the one mid-sign-up is left to confirm
    assert list(User.objects.with_verified_email()) == [operator_made]
    assert EmailAddress.objects.filter(user=signed_up).count() == 1
