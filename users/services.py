"""The VIP service layer: the only code that writes `user.is_vip` and `user.vip_expire_time`.

Every function locks the user row, changes the membership and writes one ledger row in the same
transaction, so concurrent grants serialise on the row and none is lost.
"""

import logging
import math
from datetime import datetime, timedelta
from fractions import Fraction

from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from vipplatform.exceptions import DomainError, TooManyRequests
from vipplatform.fields import LATEST
from vipplatform.readcache import user_changed, users_changed

from . import selectors
from .exceptions import (
    AccountDisabled,
    BadCredentials,
    CannotDeleteSelf,
    CannotDeleteSuperuser,
    CannotDisableSelf,
    EmailTaken,
    UsernameTaken,
    UserNotFound,
    VipExpiryInPast,
    VipExpiryTooLate,
    WrongOldPassword,
)
from .models import (
    DEFAULT_AVATAR,
    MembershipSnapshot,
    User,
    VipChangeKind,
    VipLedgerEntry,
    plain_password_q,
)

logger = logging.getLogger(__name__)

# No membership is set to end at or after this (2100-01-01 in the site's zone): a staff member
# is refused past it, and a paid extension stops at it. Far enough for any "lifetime" grant,
# and far from the calendar's end, where adding a plan's days would overflow.
VIP_EXPIRY_LIMIT = LATEST


def _lock_user(user_id: int) -> User:
    try:
        return User.objects.select_for_update().get(pk=user_id)
    except User.DoesNotExist:
        raise UserNotFound(user_id) from None


def _record(
    *,
    user: User,
    kind: str,
    expire_before: datetime | None,
    actor: User | None,
    reason: str,
    order_id: int | None = None,
    refund_id: int | None = None,
) -> VipLedgerEntry:
    # One UPDATE of the VIP columns. We hold the row lock, so `user` is what commits: it goes to
    # the read cache after commit as it is (a save() would send post_save, which reads it again).
    user.update_time = timezone.now()
    User.objects.filter(pk=user.pk).update(
        is_vip=user.is_vip, vip_expire_time=user.vip_expire_time, update_time=user.update_time
    )
    user_changed(user)
    return VipLedgerEntry.objects.create(
        user=user,
        kind=kind,
        order_id=order_id,
        refund_id=refund_id,
        expire_before=expire_before,
        expire_after=user.vip_expire_time,
        actor=actor,
        reason=reason,
    )


@transaction.atomic(savepoint=False)
def vip_extend(
    *,
    user_id: int,
    days: int,
    order_id: int | None = None,
    actor: User | None = None,
    reason: str,
) -> VipLedgerEntry:
    """Extend a membership by `days`, counted from its current expiry if still ahead, else now.

    With `order_id`, the grant happens once per order: a second call returns the first grant's
    ledger row (the unique `order` column backs this against races). Inside a caller's
    transaction (a payment's) it takes no savepoint of its own: an error rolls back what the
    caller rolls back.
    """
    user = _lock_user(user_id)
    if order_id is not None:
        existing = VipLedgerEntry.objects.filter(order_id=order_id).first()
        if existing is not None:
            logger.info("vip grant for order id=%s already made, user=%s", order_id, user_id)
            return existing

    before = user.vip_expire_time
    user.vip_expire_time = extended_expiry(user, days=days)
    user.is_vip = True
    entry = _record(
        user=user,
        kind=VipChangeKind.PURCHASE if order_id else VipChangeKind.ADMIN_GRANT,
        order_id=order_id,
        expire_before=before,
        actor=actor,
        reason=reason,
    )
    logger.info(
        "vip extended user=%s order id=%s days=%s expiry %s -> %s",
        user_id,
        order_id,
        days,
        before,
        user.vip_expire_time,
    )
    return entry


@transaction.atomic(savepoint=False)
def vip_take_back(
    *,
    user_id: int,
    order_id: int,
    refund_id: int,
    refunded_share: Fraction,
    days: int,
    reason: str,
) -> VipLedgerEntry:
    """A refund's days go back, once per refund (a second call answers the first row; the
    ledger's unique `refund` column backs this against races), inside the caller's
    transaction: the one recording the refund.

    `refunded_share` is the part of the order's amount refunded so far, this refund included:
    the order has then given back that share of the `days` it granted, rounded down to the
    second in the member's favour (counted on the total, so refunding everything in parts
    takes exactly every day). Only the order's own days still ahead of now are taken: the
    window of its grant (its purchase's ledger row: the `days` before its expiry then) less
    what has been used. Days bought by other orders, and days already used, stay. A membership
    without an end, or an order whose grant is not on the ledger (the old site's), loses
    nothing: the row records the refund all the same.
    """
    user = _lock_user(user_id)
    existing = VipLedgerEntry.objects.filter(refund_id=refund_id).first()
    if existing is not None:
        return existing
    now = timezone.now()
    before = user.vip_expire_time
    after = expiry_after_take_back(
        user, order_id=order_id, refunded_share=refunded_share, days=days, now=now
    )
    if after != before:
        user.vip_expire_time = after
        user.is_vip = after > now
    entry = _record(
        user=user,
        kind=VipChangeKind.REFUND,
        expire_before=before,
        actor=None,
        reason=reason,
        refund_id=refund_id,
    )
    logger.info(
        "vip taken back user=%s order id=%s refund id=%s expiry %s -> %s",
        user_id, order_id, refund_id, before, user.vip_expire_time,
    )  # fmt: skip
    return entry


def expiry_after_take_back(
    user: User, *, order_id: int, refunded_share: Fraction, days: int, now: datetime
) -> datetime | None:
    """Where refunding `refunded_share` of order `order_id` in all leaves `user`'s membership
    (see `vip_take_back`; also the refund form's preview)."""
    before = user.vip_expire_time
    if before is None or not user.vip_active(now=now):
        return before
    grant = VipLedgerEntry.objects.filter(order_id=order_id).first()
    if grant is None or grant.expire_after is None:
        return before
    taken_before = sum(
        (
            expire_before - expire_after
            for expire_before, expire_after in VipLedgerEntry.objects.filter(
                refund__order_id=order_id, kind=VipChangeKind.REFUND
            ).values_list("expire_before", "expire_after")
            if expire_before is not None and expire_after is not None
        ),
        timedelta(0),
    )
    window_start = grant.expire_after - timedelta(days=days)
    unused = grant.expire_after - max(now, window_start) - taken_before
    wanted = timedelta(seconds=math.floor(days * 86400 * refunded_share)) - taken_before
    taken = min(wanted, unused)
    return max(now, before - taken) if taken > timedelta(0) else before


def extended_expiry(user: User, *, days: int, now: datetime | None = None) -> datetime | None:
    """Where `days` more take a membership: from its expiry while still ahead (renewing
    early loses nothing), else from now; at most to `VIP_EXPIRY_LIMIT`. An expiry already
    past the limit (written by another of the site's programs, up to 9999-12-31) is kept as
    it is: a paid grant never fails, and never shortens a membership."""
    now = now or timezone.now()
    if user.vip_active(now=now) and user.vip_expire_time is None:
        return None  # a membership without an end stays one
    start = user.vip_expire_time if user.vip_active(now=now) else now
    if start >= VIP_EXPIRY_LIMIT:
        return start
    return min(start + timedelta(days=days), VIP_EXPIRY_LIMIT)


@transaction.atomic
def vip_set(
    *, user_id: int, expire_time: datetime, actor: User | None, reason: str
) -> VipLedgerEntry | None:
    """An administrator's override: the membership ends exactly at `expire_time`. None, and
    no ledger row, when it already does."""
    if expire_time <= timezone.now():
        raise VipExpiryInPast()
    if expire_time >= VIP_EXPIRY_LIMIT:
        raise VipExpiryTooLate()
    user = _lock_user(user_id)
    before = user.vip_expire_time
    if user.is_vip and before == expire_time:
        return None
    user.is_vip = True
    user.vip_expire_time = expire_time
    entry = _record(
        user=user,
        kind=VipChangeKind.ADMIN_SET,
        expire_before=before,
        actor=actor,
        reason=reason,
    )
    logger.info("vip set user=%s actor=%s expiry %s -> %s", user_id, actor, before, expire_time)
    return entry


@transaction.atomic
def vip_revoke(*, user_id: int, actor: User | None, reason: str) -> VipLedgerEntry | None:
    """End a membership now: `is_vip = 0`, `vip_expire_time = NULL`. None, and no ledger
    row, for a user whose flag is already off (never a member, revoked, or expired by the job,
    which keeps the date for the record)."""
    user = _lock_user(user_id)
    before = user.vip_expire_time
    if not user.is_vip:
        return None
    user.is_vip = False
    user.vip_expire_time = None
    entry = _record(
        user=user,
        kind=VipChangeKind.ADMIN_REVOKE,
        expire_before=before,
        actor=actor,
        reason=reason,
    )
    logger.info("vip revoked user=%s actor=%s expiry was %s", user_id, actor, before)
    return entry


def vip_expire_due(*, batch_size: int = 1000) -> int:
    """Switch off memberships whose expiry has passed, in batches; answers how many.

    Each batch locks its rows (skipping users a payment is extending right now: the next run
    sees them if they are still due), writes one "expired" ledger row per user and clears the
    flag: one SELECT, one INSERT ... SELECT and one UPDATE per batch, whatever its size. The
    expiry itself is kept, so "expired on <date>" can be shown.
    """
    now = timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                User.objects.vip_due_to_expire(now=now)
                .select_for_update(skip_locked=True)
                .order_by()
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                break
            _ledger_expired(batch, now=now)
            expired += User.objects.filter(pk__in=batch).update(is_vip=False, update_time=now)
            users_changed(batch)  # a queryset update sends no post_save
    if expired:
        logger.info("switched off %s expired memberships", expired)
    return expired


def _ledger_expired(user_ids: list[int], *, now: datetime) -> None:
    """One "expired" ledger row per user, copied from the user rows by the database.

    Set-based on purpose: building a thousand model instances for bulk_create costs more
    than the whole SQL round trip.
    """
    quote = connection.ops.quote_name
    ledger, user = VipLedgerEntry._meta.db_table, User._meta.db_table
    placeholders = ", ".join(["%s"] * len(user_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(ledger)} "  # noqa: S608  (names from _meta, values bound)
            "(user_id, kind, expire_before, expire_after, reason, created_at) "
            f"SELECT id, %s, vip_expire_time, vip_expire_time, %s, %s FROM {quote(user)} "
            f"WHERE id IN ({placeholders})",
            [
                VipChangeKind.EXPIRED.value,
                "会员到期",
                connection.ops.adapt_datetimefield_value(now),
                *user_ids,
            ],
        )


def _email_taken(email: str, *, other_than: int | None = None) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=other_than).exists()


def user_register(
    *,
    username: str,
    password: str,
    email: str,
    phone: str | None = None,
    avatar: str = DEFAULT_AVATAR,
) -> User:
    """A new, active, non-VIP user; the password is stored with Django's hasher."""
    if selectors.username_taken(username=username):
        raise UsernameTaken()
    if _email_taken(email):
        raise EmailTaken()
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=username, password=password, email=email, phone=phone, avatar=avatar
            )
    except IntegrityError:
        # A concurrent registration took the name or the address between the checks and the
        # INSERT: the unique constraints decide, and say which.
        if selectors.username_taken(username=username):
            raise UsernameTaken() from None
        raise EmailTaken() from None


def user_authenticate(request, *, username: str, password: str) -> User:
    """The user these credentials log in, or why not: a disabled account is told apart only
    when the password is right, so that the answer reveals nothing to a guesser."""
    user = authenticate(request, username=username, password=password)
    if user is not None:
        return user
    if getattr(request, "login_throttled", None):
        raise TooManyRequests(request.login_throttled)
    candidate = User.objects.filter(username=username).first()
    if candidate is not None and not candidate.is_active and candidate.check_password(password):
        raise AccountDisabled()
    raise BadCredentials()


_UNCHANGED = object()


@transaction.atomic
def user_update_profile(
    *, user: User, email: str | None = None, phone=_UNCHANGED, avatar=_UNCHANGED
) -> User:
    """Change the contact fields a member may change: an email (unique) when given; a phone or
    avatar when given, None or "" clearing it (the avatar back to the site's default)."""
    user = _lock_user(user.pk)
    if email is not None and email.lower() != user.email.lower():
        if _email_taken(email, other_than=user.pk):
            raise EmailTaken()
        user.email = email
    if phone is not _UNCHANGED:
        user.phone = phone or None
    if avatar is not _UNCHANGED:
        user.avatar = avatar or DEFAULT_AVATAR
    try:
        user.save(update_fields=["email", "phone", "avatar", "update_time"])
    except IntegrityError:  # taken meanwhile: the unique index decides; this rolls back
        raise EmailTaken() from None
    logger.info("profile updated user=%s", user.pk)
    return user


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str) -> User:
    """Set a new password after checking the old one and Django's password validators. Every
    other session of the user ends (their session hash no longer matches); the caller keeps
    its own with `update_session_auth_hash`."""
    user = _lock_user(user.pk)
    if not user.check_password(old_password):
        raise WrongOldPassword()
    try:
        password_validation.validate_password(new_password, user=user)
    except DjangoValidationError as exc:
        raise DomainError(exc.messages[0], field="new_password") from None
    user.set_password(new_password)
    user.save(update_fields=["password", "update_time"])
    logger.info("password changed user=%s", user.pk)
    return user


@transaction.atomic
def user_delete(*, user_id: int, actor: User) -> bool:
    """Delete an account, unless it has orders or VIP history: then it is disabled instead, so
    that no payment and no ledger row ever loses its user. Answers whether it was deleted.

    (Deleting also removes the user's rows in the other services' tables, which reference
    `user` with ON DELETE CASCADE, as the old user service's delete did.)
    """
    if user_id == actor.pk:
        raise CannotDeleteSelf()
    user = _lock_user(user_id)
    if user.is_superuser and not actor.is_superuser:
        raise CannotDeleteSuperuser()
    # VIP history stays with its user here (the ledger lets go of a user only for the site's
    # SQL deletes); orders protect their user themselves.
    if not VipLedgerEntry.objects.filter(user_id=user.pk).exists():
        try:
            with transaction.atomic():
                user.delete()
        except ProtectedError:
            pass
        else:
            logger.info("user=%s deleted by %s", user_id, actor)
            return True
    _disable(user)
    logger.info("user=%s disabled instead of deleted (has payments) by %s", user_id, actor)
    return False


@transaction.atomic
def user_disable(*, user_id: int, actor: User) -> bool:
    """Disable an account (it can no longer log in; its sessions end at their next request);
    orders and VIP history stay. Answers whether it changed (False: already disabled)."""
    if user_id == actor.pk:
        raise CannotDisableSelf()
    user = _lock_user(user_id)
    if user.is_superuser and not actor.is_superuser:
        raise CannotDeleteSuperuser("只有超级管理员可以禁用超级管理员账户")
    if not user.is_active:
        return False
    _disable(user)
    logger.info("user=%s disabled by %s", user_id, actor)
    return True


def _disable(user: User) -> None:
    user.is_active = False
    user.save(update_fields=["user_status", "update_time"])


def passwords_hash_plain(*, batch_size: int = 500) -> int:
    """Hash the passwords another program stored as typed since the takeover (the old user
    service, during a switch-over); answers how many. Hashed as the takeover hashes them
    (PBKDF2 at `takeover.TAKEOVER_ITERATIONS`; the next login brings them to full strength), a
    row only while its password is still the one read, so a login's own hashing wins. The
    every-minute job runs it: a plain-text password is never kept longer."""
    from .takeover import hash_batch

    hashed = 0
    while True:
        rows = list(
            User.objects.filter(plain_password_q()).values_list("pk", "password")[:batch_size]
        )
        if not rows:
            break
        plain = dict(rows)
        for pk, password in hash_batch(rows):
            hashed += User.objects.filter(pk=pk, password=plain[pk]).update(password=password)
        if len(rows) < batch_size:
            break
    if hashed:
        logger.warning("hashed %s passwords another program stored as typed", hashed)
    return hashed


def membership_snapshot_record() -> MembershipSnapshot:
    """Count today's memberships in force (the hourly job; the day's last count stays)."""
    today = timezone.localdate()
    snapshot, _ = MembershipSnapshot.objects.update_or_create(
        day=today,
        defaults={"active_members": selectors.active_member_count(), "counted_at": timezone.now()},
    )
    return snapshot
