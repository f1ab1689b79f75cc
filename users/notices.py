"""Members' emails: a receipt for each paid order, a reminder some days before a membership
expires, and a note once it has expired. Sent by tasks (`users.tasks`), never in a request.

Each goes at most once. Its row in `member_email` (unique per member, kind and reference) is
inserted in the transaction that sends it: a second sender of the same email waits on that
insert until the first commits, then finds the row and sends nothing; if sending fails, the
row rolls back with it and a later run tries again.
"""

import logging
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from payments.gateways import display_name
from vipplatform.background import later, send

from .models import (
    MemberEmail,
    MemberEmailKind,
    User,
    UserStatus,
    VipChangeKind,
    VipLedgerEntry,
    vip_active_q,
)

logger = logging.getLogger(__name__)

# An expiry note is for a membership that ended lately, not for every one that ever did.
SEND_MEMBER_EMAIL = "users.tasks.send_member_email"
EXPIRED_NOTE_WINDOW = timedelta(days=3)
# A receipt missed after its payment is sent later, if the payment is this recent (and older
# than the time its own send needs).
RECEIPT_CATCH_UP_WITHIN = timedelta(days=1)
RECEIPT_CATCH_UP_AFTER = timedelta(minutes=5)


def expiry_reference(expire_time: datetime) -> str:
    """How an expiry is named in `member_email.reference`: one reminder and one note each."""
    return expire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _receipt_context(order_number: str, plan_name: str, amount, expire_time) -> dict:
    """What a receipt says, as a task's JSON arguments (an expiry of None: no end)."""
    return {
        "order_number": order_number,
        "plan_name": plan_name,
        "amount": str(amount),
        "expire_time": expire_time.isoformat() if expire_time else None,
    }


def receipt_send_after_commit(
    *,
    user_id: int,
    order_number: str,
    plan_name: str,
    amount,
    expire_time: datetime | None,
    renewal=None,
) -> None:
    """Queue the receipt of a paid order for when the payment's transaction commits (a
    renewal's: which period of which agreement, and when the next is charged)."""
    context = _receipt_context(order_number, plan_name, amount, expire_time)
    if renewal is not None:
        context["renewal"] = {
            "period": renewal.periods_paid,
            "agreement_number": renewal.agreement_number,
            "price": str(renewal.price),
            "next_charge_date": renewal.next_charge_date.isoformat()
            if renewal.next_charge_date
            else None,
        }
    # A broker that is down must not fail the payment's answer (`later` is robust).
    later(
        SEND_MEMBER_EMAIL,
        kind=MemberEmailKind.RECEIPT.value,
        user_id=user_id,
        reference=order_number,
        context=context,
    )


def refund_notice_send_after_commit(
    *,
    user_id: int,
    refund_number: str,
    order_number: str,
    plan_name: str,
    amount,
    expire_time: datetime | None,
    member: bool,
) -> None:
    """Queue the notice of a refund (with the membership's new end, or its end now) for when
    it commits."""
    later(
        SEND_MEMBER_EMAIL,
        kind=MemberEmailKind.REFUND.value,
        user_id=user_id,
        reference=refund_number,
        context={
            **_receipt_context(order_number, plan_name, amount, expire_time),
            "refund_number": refund_number,
            "member": member,
        },
    )


def agreement_notice_send_after_commit(*, agreement, event: str, **info) -> None:
    """Queue the member's email of an event of their 连续包月 agreement for when it commits:
    signed, cancelled, suspended (kind 自动续费协议), a renewal's reminder, a failed charge."""
    kind, reference = {
        "reminder": (MemberEmailKind.RENEWAL_REMINDER, f"{agreement.next_period}"),
        "failed": (MemberEmailKind.RENEWAL_FAILED, f"{agreement.next_period}-{agreement.failures}"),
    }.get(event, (MemberEmailKind.AGREEMENT, event))
    charge_date = info.get("charge_date")
    later(
        SEND_MEMBER_EMAIL,
        kind=kind.value,
        user_id=agreement.user_id,
        reference=f"{agreement.agreement_number}:{reference}",
        context={
            "event": event,
            "agreement_number": agreement.agreement_number,
            "plan_name": agreement.plan_name,
            "period_days": agreement.period_days,
            "price": str(agreement.price),
            "amount": str(agreement.next_amount),
            "provider": display_name(agreement.provider),
            "cancelled_by": agreement.get_cancelled_by_display(),
            "charge_date": charge_date.isoformat() if charge_date else None,
            "reason": info.get("reason", ""),
        },
    )


def membership_notices_queue(*, now: datetime | None = None) -> int:
    """Queue the reminders and expiry notes that are due and not yet sent; answers how many.

    Reminders: members whose membership ends within `VIP_REMINDER_DAYS`. Notes: memberships
    that ended within `EXPIRED_NOTE_WINDOW` (switched off by `vip_expire_due`; a revoked one
    has no expiry and gets none). Three queries, however many members are due.
    """
    now = now or timezone.now()
    remind_before = now + timedelta(days=settings.VIP_REMINDER_DAYS)
    members = User.objects.filter(user_status=UserStatus.ACTIVE).exclude(email="")
    # A member whose 连续包月 is active is reminded of the renewal instead (payments.renewals).
    renewing = members.exclude(agreements__state="active")
    due = [
        (MemberEmailKind.REMINDER.value, user_id, expire_time)
        for user_id, expire_time in renewing.filter(
            vip_active_q(now=now), vip_expire_time__lte=remind_before
        ).values_list("pk", "vip_expire_time")
    ] + [
        (MemberEmailKind.EXPIRED.value, user_id, expire_time)
        for user_id, expire_time in members.filter(
            is_vip=False, vip_expire_time__lte=now, vip_expire_time__gt=now - EXPIRED_NOTE_WINDOW
        ).values_list("pk", "vip_expire_time")
    ]
    if not due:
        return 0
    sent = set(
        MemberEmail.objects.filter(
            kind__in=[MemberEmailKind.REMINDER, MemberEmailKind.EXPIRED],
            user_id__in={user_id for _, user_id, _ in due},
        ).values_list("kind", "user_id", "reference")
    )
    queued = 0
    for kind, user_id, expire_time in due:
        reference = expiry_reference(expire_time)
        if (kind, user_id, reference) not in sent:
            send(SEND_MEMBER_EMAIL, kind=kind, user_id=user_id, reference=reference)
            queued += 1
    if queued:
        logger.info("queued %s membership notices", queued)
    return queued


def receipts_missed_queue(*, now: datetime | None = None) -> int:
    """Queue the receipts that were not sent after their payment (the broker was down at that
    moment): purchases granted between a day and 5 minutes ago with no receipt on record.
    Answers how many; two queries. Each still goes at most once (`member_email_send`)."""
    now = now or timezone.now()
    purchases = VipLedgerEntry.objects.filter(
        kind=VipChangeKind.PURCHASE,
        order__isnull=False,
        created_at__gte=now - RECEIPT_CATCH_UP_WITHIN,
        created_at__lte=now - RECEIPT_CATCH_UP_AFTER,
    ).values_list(
        "user_id", "order__order_number", "order__plan_name", "order__amount", "expire_after"
    )
    purchases = list(purchases)
    if not purchases:
        return 0
    sent = set(
        MemberEmail.objects.filter(
            kind=MemberEmailKind.RECEIPT, reference__in=[p[1] for p in purchases]
        ).values_list("reference", flat=True)
    )
    queued = 0
    for user_id, order_number, plan_name, amount, expire_after in purchases:
        if order_number in sent:
            continue
        send(
            SEND_MEMBER_EMAIL,
            kind=MemberEmailKind.RECEIPT.value,
            user_id=user_id,
            reference=order_number,
            context=_receipt_context(order_number, plan_name, amount, expire_after),
        )
        queued += 1
    if queued:
        logger.warning("queued %s receipts that were not sent after their payment", queued)
    return queued


# A receipt not sent this long after its grant is late (the 5-minute job has had its chance).
RECEIPT_LATE_AFTER = timedelta(minutes=10)


def receipts_late_count(*, now=None) -> int:
    """Receipts still unsent `RECEIPT_LATE_AFTER` after their grant, within the last day, for
    members who can receive one (the metric behind the ReceiptsLate alert). One query."""
    now = now or timezone.now()
    sent = MemberEmail.objects.filter(
        kind=MemberEmailKind.RECEIPT, reference=OuterRef("order__order_number")
    )
    return (
        VipLedgerEntry.objects.filter(
            kind=VipChangeKind.PURCHASE,
            order__isnull=False,
            created_at__gte=now - RECEIPT_CATCH_UP_WITHIN,
            created_at__lte=now - RECEIPT_LATE_AFTER,
            user__user_status=UserStatus.ACTIVE,
        )
        .exclude(user__email="")
        .exclude(Exists(sent))
        .count()
    )


def member_email_send(
    *, kind: str, user_id: int, reference: str, context: dict | None = None
) -> bool:
    """Send one member's email unless it was sent already or is no longer true (the member
    renewed before the reminder, say). Answers whether it was sent now."""
    with transaction.atomic():
        user = User.objects.filter(pk=user_id).first()
        if user is None or not user.email:
            return False
        context = {**(context or {}), **_membership_context(user)}
        if not _still_due(kind, user, reference):
            logger.info("member email %s user=%s %s no longer due", kind, user_id, reference)
            return False
        try:
            with transaction.atomic():
                MemberEmail.objects.create(user=user, kind=kind, reference=reference, to=user.email)
        except IntegrityError:
            logger.info("member email %s user=%s %s sent already", kind, user_id, reference)
            return False
        _send(kind, user, context)
    logger.info("member email %s sent user=%s %s", kind, user_id, reference)
    return True


def _still_due(kind: str, user: User, reference: str) -> bool:
    if kind not in (MemberEmailKind.REMINDER, MemberEmailKind.EXPIRED):
        return True  # an event's email: true when it happened
    if user.vip_expire_time is None or expiry_reference(user.vip_expire_time) != reference:
        return False  # renewed or revoked since
    return user.vip_active() == (kind == MemberEmailKind.REMINDER)


def _membership_context(user: User) -> dict:
    return {"username": user.username, "member_expire_time": user.vip_expire_time}


def _send(kind: str, user: User, context: dict) -> None:
    if isinstance(context.get("expire_time"), str):
        context["expire_time"] = parse_datetime(context["expire_time"])
    if isinstance(context.get("charge_date"), str):
        context["charge_date"] = date.fromisoformat(context["charge_date"])
    context["site_url"] = settings.SITE_URL.rstrip("/")
    template = f"users/email/{kind}"
    send_mail(
        subject=render_to_string(f"{template}_subject.txt", context).strip(),
        message=render_to_string(f"{template}.txt", context),
        from_email=None,
        recipient_list=[user.email],
        html_message=render_to_string(f"{template}.html", context),
    )
