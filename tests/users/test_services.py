"""The VIP service layer and the ledger."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from users import services
from users.exceptions import UserNotFound, VipExpiryInPast
from users.models import User, VipChangeKind, VipLedgerEntry

from ..factories import VipOrderFactory

pytestmark = pytest.mark.django_db


def test_extending_a_non_member_counts_from_now(user):
    entry = services.vip_extend(user_id=user.pk, days=30, reason="test")
    user.refresh_from_db()
    assert user.vip_active()
    assert abs(user.vip_expire_time - (timezone.now() + timedelta(days=30))) < timedelta(seconds=5)
    assert (entry.kind, entry.expire_before, entry.expire_after) == (
        VipChangeKind.ADMIN_GRANT,
        None,
        user.vip_expire_time,
    )


def test_extending_a_member_counts_from_the_current_expiry(user):
    current = timezone.now() + timedelta(days=10)
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=current)
    services.vip_extend(user_id=user.pk, days=90, reason="test")
    user.refresh_from_db()
    assert user.vip_expire_time == current + timedelta(days=90)


def test_a_grant_for_an_order_happens_once(plans, user):
    order = VipOrderFactory(user=user)
    first = services.vip_extend(user_id=user.pk, days=30, order_id=order.pk, reason="a")
    again = services.vip_extend(user_id=user.pk, days=30, order_id=order.pk, reason="b")
    assert again == first
    user.refresh_from_db()
    assert user.vip_expire_time == first.expire_after
    assert VipLedgerEntry.objects.count() == 1


def test_the_ledger_allows_one_row_per_order(plans, user):
    order = VipOrderFactory(user=user)
    VipLedgerEntry.objects.create(user=user, kind=VipChangeKind.PURCHASE, order=order, reason="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        VipLedgerEntry.objects.create(
            user=user, kind=VipChangeKind.PURCHASE, order=order, reason="b"
        )


def test_setting_an_expiry_in_the_past_is_refused(user):
    with pytest.raises(VipExpiryInPast):
        services.vip_set(user_id=user.pk, expire_time=timezone.now(), actor=None, reason="x")
    assert not VipLedgerEntry.objects.exists()


def test_set_can_shorten_a_membership(user, staff):
    User.objects.filter(pk=user.pk).update(
        is_vip=True, vip_expire_time=timezone.now() + timedelta(days=300)
    )
    target = timezone.now() + timedelta(days=1)
    services.vip_set(user_id=user.pk, expire_time=target, actor=staff, reason="goodwill fix")
    user.refresh_from_db()
    assert user.vip_expire_time == target


def test_revoking_clears_the_membership(user):
    services.vip_extend(user_id=user.pk, days=30, reason="x")
    entry = services.vip_revoke(user_id=user.pk, actor=None, reason="refund")
    user.refresh_from_db()
    assert (user.is_vip, user.vip_expire_time) == (False, None)
    assert entry.expire_after is None
    assert entry.expire_before is not None


@pytest.mark.parametrize(
    "call",
    [
        lambda: services.vip_extend(user_id=999999, days=1, reason="x"),
        lambda: services.vip_revoke(user_id=999999, actor=None, reason="x"),
        lambda: services.vip_set(
            user_id=999999, expire_time=timezone.now() + timedelta(days=1), actor=None, reason="x"
        ),
    ],
)
def test_an_unknown_user_raises_user_not_found(call):
    with pytest.raises(UserNotFound):
        call()
