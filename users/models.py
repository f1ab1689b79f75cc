from django.conf import settings
from django.contrib.auth.hashers import get_hashers, identify_hasher
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from vipplatform.db import IntegerBooleanField, UnsignedAutoField

DEFAULT_AVATAR = "default_avatar.jpg"  # the site's own default, for users without one


class UserStatus(models.IntegerChoices):
    DISABLED = 0, "禁用"
    ACTIVE = 1, "正常"


def vip_active_q(*, now) -> Q:
    """Members in force: the flag, and an expiry still ahead or none at all (a membership
    without an end, as the site's data has them: `User.vip_active` for one)."""
    return Q(is_vip=True) & (Q(vip_expire_time__gt=now) | Q(vip_expire_time__isnull=True))


def vip_without_end_q() -> Q:
    """Members without an end date: `is_vip = 1` and no expiry, which the old site (and the
    movie service, which reads only `is_vip`) treats as VIP. Only staff end them."""
    return Q(is_vip=True, vip_expire_time__isnull=True)


# What the takeover and the plain-password job hash with (users/takeover.py), whatever
# PASSWORD_HASHERS says.
TAKEOVER_HASH_PREFIX = "pbkdf2_sha256$"


def is_plain_password(encoded: str | None) -> bool:
    """Whether a stored password is the password as typed: what the site's old user service
    stored, and still may during a switch-over. Not a hash any configured hasher knows, and not
    Django's unusable password."""
    if not encoded or encoded.startswith(("!", TAKEOVER_HASH_PREFIX)):
        return False
    try:
        identify_hasher(encoded)
    except ValueError:
        return True
    return False


def plain_password_q() -> Q:
    """Rows whose password is not hashed (`is_plain_password`, as far as SQL can tell)."""
    q = ~Q(password="") & ~Q(password__startswith="!")
    q &= ~Q(password__startswith=TAKEOVER_HASH_PREFIX)
    for hasher in get_hashers():
        q &= ~Q(password__startswith=f"{hasher.algorithm}$")
    return q


class UserQuerySet(models.QuerySet):
    def vip_due_to_expire(self, *, now=None):
        """Users still flagged VIP whose expiry has passed (the expiry job's work); a
        membership without an end date never is."""
        now = now or timezone.now()
        return self.filter(is_vip=True, vip_expire_time__lte=now)


class VipUserManager(UserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True


class User(AbstractBaseUser, PermissionsMixin):
    """The movie site's user, on the site's `user` table (taken over in place, see
    `docs/takeover.md`): its column types are the ones the site's other services read, and
    they keep writing it with their own SQL. So every column has a database default an insert
    may rely on (the site's own: the times' CURRENT_TIMESTAMP, `update_time`'s ON UPDATE, set
    by migration users.0005), the site's comments, and the times may be NULL, as they were:
    an unknown time stays unknown.

    `is_vip` and `vip_expire_time` are written only by `users.services`; read them through
    `vip_active`, which treats an expired membership as no membership, and `is_vip` without
    an expiry as a membership without an end.
    """

    username_validator = UnicodeUsernameValidator()

    # (The key's comment, 用户ID, stays on a taken-over table; altering a key that eight
    # tables reference is not worth a comment on a fresh one.)
    id = UnsignedAutoField(primary_key=True)
    username = models.CharField(
        "用户名",
        max_length=50,
        unique=True,
        validators=[username_validator],
        db_comment="用户名",
    )
    password = models.CharField("密码", max_length=128, db_comment="加密密码")
    email = models.EmailField("邮箱", max_length=100, unique=True, db_comment="邮箱")
    # Nullable as on the site's table, where users without a phone or avatar hold NULL.
    phone = models.CharField(  # noqa: DJ001
        "手机号", max_length=20, null=True, blank=True, db_comment="手机号"
    )
    avatar = models.CharField(  # noqa: DJ001
        "头像",
        max_length=255,
        null=True,
        blank=True,
        default=DEFAULT_AVATAR,
        db_default=DEFAULT_AVATAR,
        db_comment="头像URL",
    )
    register_time = models.DateTimeField(
        "注册时间", null=True, default=timezone.now, db_default=Now(), db_comment="注册时间"
    )
    last_login = models.DateTimeField(
        "最后登录时间",
        db_column="last_login_time",
        null=True,
        blank=True,
        db_comment="最后登录时间",
    )
    user_status = models.IntegerField(
        "用户状态",
        choices=UserStatus.choices,
        default=UserStatus.ACTIVE,
        db_default=UserStatus.ACTIVE,
    )
    is_vip = IntegerBooleanField("VIP标记", default=False, db_default=False)
    vip_expire_time = models.DateTimeField(
        "VIP到期时间", null=True, blank=True, db_comment="VIP过期时间"
    )
    is_staff = models.BooleanField("职员状态", default=False, db_default=False)
    is_superuser = models.BooleanField(
        "超级用户状态",
        default=False,
        db_default=False,
        help_text="指明该用户缺省拥有所有权限。",
    )
    create_time = models.DateTimeField(
        "创建时间", null=True, default=timezone.now, db_default=Now(), db_comment="创建时间"
    )
    update_time = models.DateTimeField(
        "更新时间", null=True, auto_now=True, db_default=Now(), db_comment="更新时间"
    )

    objects = VipUserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "user"
        db_table_comment = "用户表"
        verbose_name = "用户"
        verbose_name_plural = "用户"
        indexes = [
            models.Index(fields=["is_vip", "vip_expire_time"], name="user_vip_expiry_idx"),
            models.Index(fields=["phone"], name="user_phone_idx"),  # the one search box
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_active(self) -> bool:  # what Django's auth backends check
        return self.user_status == UserStatus.ACTIVE

    @is_active.setter
    def is_active(self, value: bool) -> None:
        self.user_status = UserStatus.ACTIVE if value else UserStatus.DISABLED

    def vip_active(self, *, now=None) -> bool:
        """Whether the membership is in force now: the flag, and an expiry still ahead or
        none (a membership without an end)."""
        if not self.is_vip:
            return False
        return self.vip_expire_time is None or self.vip_expire_time > (now or timezone.now())

    def check_password(self, raw_password: str) -> bool:
        """Django's check, and for a password another program stored as typed after the
        takeover (the old user service during a switch-over): a constant-time comparison,
        then the password is hashed at once, so it is never kept (`passwords_hash_plain`
        hashes the others within a minute)."""
        if not is_plain_password(self.password):
            return super().check_password(raw_password)
        plain = self.password
        if not isinstance(raw_password, str) or not constant_time_compare(raw_password, plain):
            return False
        self.set_password(raw_password)
        # Unless it changed meanwhile (the job hashed it, or the user set another).
        User.objects.filter(pk=self.pk, password=plain).update(password=self.password)
        return True

    @property
    def vip_without_end(self) -> bool:
        return bool(self.is_vip) and self.vip_expire_time is None


class VipChangeKind(models.TextChoices):
    PURCHASE = "purchase", "购买"
    ADMIN_GRANT = "admin_grant", "管理员赠送"
    ADMIN_SET = "admin_set", "管理员设置"
    ADMIN_REVOKE = "admin_revoke", "管理员取消"
    REFUND = "refund", "退款"
    EXPIRED = "expired", "到期"
    # A member of the old site without an end date (`is_vip = 1`, no expiry), found at the
    # takeover: one row each, so the ledger tells where the membership came from.
    TAKEOVER = "takeover", "接管时的长期会员"


class VipLedgerEntry(models.Model):
    """One change of one user's VIP. Append-only; one row per paid order and per refund at
    most.

    The money's history outlives its user: the site's services delete users with plain SQL
    (their keys to `user` cascade, `vip_order`'s too), and then the user, the order and the
    actor become NULL here (ON DELETE SET NULL in the database, migration users.0005), while
    the change itself (when, what kind, the expiry before and after, why) stays.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="vip_ledger",
        verbose_name="用户",
        help_text="空表示该用户已被删除",
    )
    kind = models.CharField("类型", max_length=20, choices=VipChangeKind.choices)
    order = models.OneToOneField(
        "payments.VipOrder",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="vip_grant",
        verbose_name="订单",
    )
    # The refund whose money took days back: one row per refund at most.
    refund = models.OneToOneField(
        "payments.Refund",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="vip_change",
        verbose_name="退款",
    )
    expire_before = models.DateTimeField("变更前到期时间", null=True, blank=True)
    expire_after = models.DateTimeField("变更后到期时间", null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
        help_text="空表示支付网关或定时任务（或操作人已被删除）",
    )
    reason = models.CharField("原因", max_length=255)
    created_at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        db_table = "vip_ledger"
        verbose_name = "VIP变更记录"
        verbose_name_plural = "VIP变更记录"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        def when(moment) -> str:
            return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "无"

        return f"{self.get_kind_display()}：{when(self.expire_before)} → {when(self.expire_after)}"


class MemberEmailKind(models.TextChoices):
    RECEIPT = "receipt", "支付成功"
    REMINDER = "reminder", "到期提醒"
    EXPIRED = "expired", "已到期"
    REFUND = "refund", "退款通知"
    # 连续包月: signed, cancelled or suspended (`reference`: the agreement and the event), a
    # renewal's reminder (the agreement and the period), a failed charge (and the try).
    AGREEMENT = "agreement", "自动续费协议"
    RENEWAL_REMINDER = "renewal_reminder", "自动续费提醒"
    RENEWAL_FAILED = "renewal_failed", "自动续费扣款失败"


class MemberEmail(models.Model):
    """One email sent to a member. Unique per member, kind and reference (the order number
    for a receipt, the expiry for a reminder or an expiry note): each goes at most once."""

    # No foreign key constraint in the database: the site's other services delete users
    # with plain SQL, and a record of a sent email must not stop them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name="用户",
    )
    kind = models.CharField("类型", max_length=20, choices=MemberEmailKind.choices)
    reference = models.CharField("关联", max_length=64, help_text="订单号，或会员到期时间")
    to = models.EmailField("收件人", max_length=100)
    sent_at = models.DateTimeField("发送时间", default=timezone.now, db_index=True)

    class Meta:
        db_table = "member_email"
        verbose_name = "会员邮件"
        verbose_name_plural = "会员邮件"
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "reference"], name="member_email_once")
        ]
        indexes = [
            # The admin's search by address or order number, and a member's page.
            models.Index(fields=["to"], name="member_email_to_idx"),
            models.Index(fields=["reference"], name="member_email_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to}"


class MembershipSnapshot(models.Model):
    """How many memberships were in force on a day (its last count): the overview's chart of
    active members over time, which the user table alone cannot tell."""

    day = models.DateField("日期", primary_key=True)
    active_members = models.PositiveIntegerField("有效会员数")
    counted_at = models.DateTimeField("统计时间", default=timezone.now)

    class Meta:
        db_table = "membership_snapshot"
        verbose_name = "会员数快照"
        verbose_name_plural = "会员数快照"
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.active_members}"
