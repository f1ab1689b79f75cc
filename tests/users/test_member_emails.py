"""Members' emails: a receipt per paid order, a reminder before the expiry, a note after it;
each sent once, by tasks after the transaction commits."""

import threading
import time
from datetime import timedelta
from smtplib import SMTPServerDisconnected
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from users import notices
from users.models import MemberEmail, MemberEmailKind, User, UserStatus
from users.services import vip_revoke
from users.tasks import expire_vips, send_member_email, send_membership_notices

from ..factories import UserFactory, VipOrderFactory
from ..helpers import post_callback, requires_mariadb


def member_until(delta: timedelta, **fields) -> User:
    return UserFactory(is_vip=True, vip_expire_time=timezone.now() + delta, **fields)


def sent(kind: str) -> list[mail.EmailMessage]:
    subjects = {
        MemberEmailKind.RECEIPT: "支付成功",
        MemberEmailKind.REMINDER: "将于",
        MemberEmailKind.EXPIRED: "已到期",
    }
    return [message for message in mail.outbox if subjects[kind] in message.subject]


@pytest.mark.django_db
class TestReceipt:
    def pay(self, order, capture):
        with capture(execute=True):
            post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})

    def test_a_paid_order_gets_one_receipt_with_plan_amount_and_new_expiry(
        self, plans, django_capture_on_commit_callbacks
    ):
        order = VipOrderFactory(plan=plans[2])
        self.pay(order, django_capture_on_commit_callbacks)
        self.pay(order, django_capture_on_commit_callbacks)  # the gateway's resend

        [receipt] = mail.outbox
        order.user.refresh_from_db()
        expiry = timezone.localtime(order.user.vip_expire_time).strftime("%Y-%m-%d %H:%M")
        assert receipt.to == [order.user.email]
        assert receipt.subject == "支付成功：季度会员已开通"
        for text in (receipt.body, receipt.alternatives[0].content):
            assert order.order_number in text
            assert "¥88.00" in text
            assert expiry in text
        assert receipt.alternatives[0].mimetype == "text/html"
        assert MemberEmail.objects.get().reference == order.order_number

    def test_nothing_is_sent_before_the_payment_commits(self, plans):
        # Inside the test's transaction, which never commits: the task is never sent.
        order = VipOrderFactory()
        post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
        assert mail.outbox == []

    def test_a_failed_grant_sends_its_receipt_when_the_retry_succeeds(
        self, plans, monkeypatch, django_capture_on_commit_callbacks
    ):
        order = VipOrderFactory()
        with monkeypatch.context() as patched:
            patched.setattr("users.receivers.vip_extend", lambda **kwargs: 1 / 0)
            self.pay(order, django_capture_on_commit_callbacks)
        assert mail.outbox == []
        from payments.tasks import retry_vip_grants

        with django_capture_on_commit_callbacks(execute=True):
            retry_vip_grants.delay()
        assert len(sent(MemberEmailKind.RECEIPT)) == 1


@pytest.mark.django_db
class TestMembershipNotices:
    def test_a_reminder_goes_some_days_before_the_expiry_once(self, settings):
        settings.VIP_REMINDER_DAYS = 3
        soon = member_until(timedelta(days=2))
        member_until(timedelta(days=5))  # not yet
        member_until(timedelta(days=2), email="")  # no address
        member_until(timedelta(days=2), user_status=UserStatus.DISABLED)

        assert send_membership_notices.delay().get() == 1
        assert send_membership_notices.delay().get() == 0  # the job runs again
        [reminder] = mail.outbox
        assert reminder.to == [soon.email]
        expiry = timezone.localtime(soon.vip_expire_time)
        assert reminder.subject == f"您的VIP会员将于{expiry:%Y-%m-%d}到期"
        assert f"{expiry:%Y-%m-%d %H:%M}" in reminder.body

    def test_a_renewal_brings_a_new_reminder_for_the_new_expiry(self, settings):
        member = member_until(timedelta(days=1))
        send_membership_notices.delay()
        User.objects.filter(pk=member.pk).update(
            vip_expire_time=member.vip_expire_time + timedelta(days=1)
        )
        send_membership_notices.delay()
        assert len(sent(MemberEmailKind.REMINDER)) == 2

    def test_a_reminder_queued_before_a_renewal_is_not_sent(self):
        member = member_until(timedelta(days=1))
        reference = notices.expiry_reference(member.vip_expire_time)
        User.objects.filter(pk=member.pk).update(
            vip_expire_time=member.vip_expire_time + timedelta(days=30)
        )
        sent_now = send_member_email.delay(
            kind=MemberEmailKind.REMINDER, user_id=member.pk, reference=reference
        ).get()
        assert (sent_now, mail.outbox) == (False, [])

    def test_an_expired_membership_gets_one_note(self):
        lapsed = member_until(timedelta(minutes=-1))
        long_ago = member_until(timedelta(days=-10))
        revoked = member_until(timedelta(days=10))
        vip_revoke(user_id=revoked.pk, actor=None, reason="测试")

        assert expire_vips.delay().get() == 2
        send_membership_notices.delay()
        send_membership_notices.delay()
        [note] = mail.outbox
        assert note.to == [lapsed.email]
        assert note.subject == "您的VIP会员已到期"
        assert long_ago.email not in {m.to[0] for m in mail.outbox}

    def test_a_note_waits_for_the_expiry_job(self):
        member_until(timedelta(minutes=-1))  # still flagged VIP: not yet switched off
        assert send_membership_notices.delay().get() == 0

    def test_the_queries_do_not_grow_with_the_members_due(self, django_assert_max_num_queries):
        for _ in range(30):
            member_until(timedelta(days=1))
        with (
            django_assert_max_num_queries(3),
            mock.patch.object(send_member_email, "apply_async") as delay,
        ):
            assert notices.membership_notices_queue() == 30
        assert delay.call_count == 30


@pytest.mark.django_db
def test_a_mail_server_failure_marks_nothing_sent_and_is_retried(monkeypatch, eager_retries):
    member = member_until(timedelta(days=1))
    real_send, calls = notices.send_mail, []

    def flaky(**kwargs):
        calls.append(kwargs["recipient_list"])
        if len(calls) == 1:
            raise SMTPServerDisconnected("connection closed")
        return real_send(**kwargs)

    monkeypatch.setattr(notices, "send_mail", flaky)
    send_membership_notices.delay()
    assert len(calls) == 2
    assert len(mail.outbox) == 1
    assert MemberEmail.objects.filter(user=member).count() == 1


@requires_mariadb
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_email_send_it_once(monkeypatch):
    member = member_until(timedelta(days=1))
    reference = notices.expiry_reference(member.vip_expire_time)
    real_send = notices.send_mail

    def slow_send(**kwargs):
        time.sleep(0.5)  # the other worker arrives while this one is sending
        return real_send(**kwargs)

    monkeypatch.setattr(notices, "send_mail", slow_send)
    start, results = threading.Barrier(2), []

    def worker():
        start.wait()
        try:
            results.append(
                notices.member_email_send(
                    kind=MemberEmailKind.REMINDER, user_id=member.pk, reference=reference
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert len(mail.outbox) == 1
    assert MemberEmail.objects.count() == 1


@pytest.mark.django_db
def test_a_broker_that_is_down_does_not_fail_the_payments_answer(
    plans, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    """The receipt is sent after the payment commits; if the broker refuses it, the
    notification is still answered 200 and the order stays paid."""
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(send_member_email, "apply_async", broker_down)
    order = VipOrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == 1
    assert "Connection refused" in caplog.text  # logged by Django's robust on_commit


@pytest.mark.django_db
def test_a_receipt_missed_after_its_payment_is_sent_by_the_job_once(plans):
    """The broker was down as the payment committed: the receipt was never sent. The job
    sends it later, once; a payment too recent or too old is left alone."""
    from users.models import VipLedgerEntry

    missed, recent, old = (VipOrderFactory(plan=plans[2]) for _ in range(3))
    for order in (missed, recent, old):
        # Inside the test's transaction: the after-commit send never runs, as with no broker.
        post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    now = timezone.now()
    VipLedgerEntry.objects.filter(order=missed).update(created_at=now - timedelta(minutes=10))
    VipLedgerEntry.objects.filter(order=old).update(created_at=now - timedelta(days=2))

    assert send_membership_notices.delay().get() == 1
    assert send_membership_notices.delay().get() == 0
    [receipt] = mail.outbox
    assert receipt.to == [missed.user.email]
    assert missed.order_number in receipt.body and "¥88.00" in receipt.body
