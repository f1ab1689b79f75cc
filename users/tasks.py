"""The users app's background work (Celery tasks). Each calls one service and is safe to run
twice; `settings.PERIODIC_JOBS` schedules the periodic ones."""

from smtplib import SMTPException

from celery import shared_task

from . import notices, services


@shared_task
def expire_vips() -> int:
    return services.vip_expire_due()


@shared_task
def hash_plain_passwords() -> int:
    return services.passwords_hash_plain()


@shared_task
def record_active_members() -> int:
    return services.membership_snapshot_record().active_members


@shared_task
def send_membership_notices() -> int:
    """Reminders and expiry notes due, and receipts missed after their payment."""
    return notices.membership_notices_queue() + notices.receipts_missed_queue()


# A mail server that is down or refuses for a while: 1, 2, 4 ... minutes, at most an hour
# apart, eight times; the row of a failed email rolls back, so nothing is marked sent.
@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
    label="发送一封会员邮件",
)
def send_member_email(
    *, kind: str, user_id: int, reference: str, context: dict | None = None
) -> bool:
    return notices.member_email_send(
        kind=kind, user_id=user_id, reference=reference, context=context
    )
