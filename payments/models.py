import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from vipplatform.db import UnsignedAutoField


class PaymentMethod(models.IntegerChoices):
    WECHAT = 0, "微信支付"
    ALIPAY = 1, "支付宝"
    BANK_CARD = 2, "银行卡"


class OrderStatus(models.IntegerChoices):
    PENDING = 0, "待支付"
    PAID = 1, "已支付"
    CANCELLED = 2, "已取消"
    EXPIRED = 3, "已过期"


class PlanCode(models.IntegerChoices):
    """The contract's three plans, by their `vipType` codes (the statistics count each)."""

    MONTHLY = 1, "月度会员"
    QUARTERLY = 2, "季度会员"
    YEARLY = 3, "年度会员"


# The prices the old Vue front end sends for the three plans, written into its code: it posts
# them as `amount`, which must equal the plan's price (a stale page is refused).
OLD_FRONT_END_PRICES = {
    PlanCode.MONTHLY: Decimal("29.90"),
    PlanCode.QUARTERLY: Decimal("88.00"),
    PlanCode.YEARLY: Decimal("328.00"),
}


class GatewayResult(models.TextChoices):
    """What a gateway says of a payment (a notification's `status`)."""

    SUCCESS = "SUCCESS", "成功"
    FAILED = "FAILED", "失败"


def effective_status(status: int, expire_time, *, now=None) -> int:
    """The status as users see it: a pending order past its deadline is expired, whether or
    not the expiry job has marked it yet, and so is one whose deadline is unknown (some of
    the site's old orders recorded none): it is never open for payment again
    (`status_seen_as` is the same rule for queries)."""
    if status == OrderStatus.PENDING and (
        expire_time is None or expire_time <= (now or timezone.now())
    ):
        return OrderStatus.EXPIRED
    return status


# A renewing plan's period is longer than the law's reminder (at least five days before each
# renewal) and the time a failed charge is retried in.
RENEWAL_MIN_DAYS = 7


class VipPlanQuerySet(models.QuerySet):
    def for_sale(self):
        """The plans buyers may buy once: on sale, and sound (the admin validates them, but a
        row written some other way must not be sold). Renewing plans are signed for, not
        bought (`renewing`): the old front end's list never shows them."""
        return self.filter(is_active=True, days__gte=1, price__gt=0, renews=False)

    def renewing(self):
        """The 连续包月 plans members may sign up for."""
        return self.filter(is_active=True, renews=True, days__gte=RENEWAL_MIN_DAYS, price__gt=0)


class VipPlan(models.Model):
    """A membership plan; its id is the `vipType` / `planId` code of the API. Orders copy its
    name, days and price when they are made: editing a plan changes no existing order."""

    id = models.AutoField(primary_key=True)  # `vip_order.vip_type`, an INT on the site's table
    name = models.CharField("名称", max_length=50)
    days = models.PositiveIntegerField("天数", validators=[MinValueValidator(1)])
    price = models.DecimalField(
        "价格",
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="元，最多两位小数；修改价格不影响已创建的订单",
    )
    is_active = models.BooleanField("在售", default=True)
    renews = models.BooleanField(
        "连续包月（自动续费）",
        default=False,
        db_default=False,
        help_text="会员签约后每个周期（天数）自动扣款（价格），可随时取消；不在一次性套餐中出售",
    )
    first_price = models.DecimalField(
        "首期价格",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="自动续费套餐的首期优惠价，空：与每期价格相同",
    )

    objects = VipPlanQuerySet.as_manager()

    class Meta:
        db_table = "vip_plan"
        verbose_name = "VIP套餐"
        verbose_name_plural = "VIP套餐"
        ordering = ["days"]

    def __str__(self) -> str:
        return f"{self.name} ({self.days}天, ¥{self.price})"

    def clean(self) -> None:
        """Two plans on sale never share a name: buyers choose by it. A renewing plan's period
        leaves room for the reminder the law requires; only a renewing plan has a first
        period's price."""
        if self.is_active and (
            VipPlan.objects.filter(name=self.name, is_active=True).exclude(pk=self.pk).exists()
        ):
            raise ValidationError({"name": "在售套餐中已有同名套餐"})
        if self.renews and self.days is not None and self.days < RENEWAL_MIN_DAYS:
            raise ValidationError(
                {"days": f"自动续费套餐的周期至少 {RENEWAL_MIN_DAYS} 天（须提前5天提醒续费）"}
            )
        if self.first_price is not None and not self.renews:
            raise ValidationError({"first_price": "只有自动续费套餐有首期价格"})

    def price_of_period(self, period: int) -> Decimal:
        """What a renewing plan charges for its `period`th period (1: the first)."""
        return self.first_price if period == 1 and self.first_price else self.price


def new_order_number() -> str:
    """30 characters: the creation second, readable by staff, then 64 random bits."""
    return f"{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(8)}"


def status_seen_as(code: int, *, now) -> Q:
    """The orders users see with status `code`: a pending order past its deadline is expired,
    whether or not the expiry job has marked it yet. The one definition the API, the admin,
    the pages and the statistics use."""
    if code == OrderStatus.PENDING:
        return Q(status=OrderStatus.PENDING, expire_time__gt=now)
    if code == OrderStatus.EXPIRED:
        return Q(status=OrderStatus.EXPIRED) | _pending_past_deadline(now)
    return Q(status=code)


def _pending_past_deadline(now) -> Q:
    return Q(status=OrderStatus.PENDING) & (Q(expire_time__lte=now) | Q(expire_time__isnull=True))


class VipOrderQuerySet(models.QuerySet):
    def grant_failing(self):
        """Paid orders whose VIP grant failed and is not yet done."""
        return self.filter(grant_failed_at__isnull=False, status=OrderStatus.PAID)

    def with_status(self, code: int, *, now=None):
        """Orders with status `code` as users see it (`status_seen_as`)."""
        return self.filter(status_seen_as(code, now=now or timezone.now()))

    def overdue(self, *, now=None):
        """Pending orders whose payment deadline has passed (or is unknown)."""
        return self.filter(_pending_past_deadline(now or timezone.now()))


class VipOrder(models.Model):
    """An order for one plan, on the old `vip_order` table.

    `plan` is stored in the old `vip_type` column. What the buyer was shown is copied from the
    plan when the order is made (`amount`, `plan_name`, `plan_days`), so a later change to the
    plan never alters an order: the payment grants the days that were bought, and a list of
    orders needs no join (a join with the three-row plan table makes MariaDB sort the whole
    order table before a LIMIT). `expire_time` is the payment deadline, not the membership's end.

    The site's other programs (the old payment service during a switch-over) insert orders with
    their own SQL: every column has a database default meaning "not set" (`plan_name` '' and
    `plan_days` 0: then the plan's own, see `days_bought`), and the times may be NULL, as on
    the site's table, when they are not known.
    """

    # (The keys' comments, 订单ID and 用户ID, stay on a taken-over table: keys are not
    # altered for a comment.)
    id = UnsignedAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vip_orders"
    )
    # 30 characters for the platform's orders; the site's old ones have 16 hex digits.
    order_number = models.CharField(
        "订单号", max_length=50, unique=True, default=new_order_number, db_comment="订单号"
    )
    plan = models.ForeignKey(
        VipPlan, on_delete=models.PROTECT, db_column="vip_type", verbose_name="套餐"
    )
    plan_name = models.CharField("套餐名称", max_length=50, db_default="")
    plan_days = models.PositiveIntegerField("套餐天数", db_default=0)
    amount = models.DecimalField("金额", max_digits=10, decimal_places=2)
    # Null only on some of the site's old orders, which did not record it.
    payment_method = models.IntegerField("支付方式", choices=PaymentMethod.choices, null=True)
    status = models.IntegerField(
        "状态", choices=OrderStatus.choices, default=OrderStatus.PENDING, db_default=0
    )
    create_time = models.DateTimeField(
        "创建时间", null=True, default=timezone.now, db_default=Now(), db_comment="创建时间"
    )
    pay_time = models.DateTimeField("支付时间", null=True, blank=True, db_comment="支付时间")
    expire_time = models.DateTimeField("支付截止时间", null=True, db_comment="过期时间")
    qr_code_url = models.CharField("二维码地址", max_length=255, blank=True, db_default="")
    # What the QR code encodes: the provider's code (weixin://..., https://qr.alipay.com/...)
    # or the sandbox's checkout page. Empty on the old services' orders.
    payment_code = models.CharField("支付码", max_length=255, blank=True, default="", db_default="")
    transaction_id = models.CharField("网关交易号", max_length=64, blank=True, db_default="")
    grant_failed_at = models.DateTimeField("VIP开通失败时间", null=True, blank=True)
    grant_error = models.TextField("VIP开通失败原因", blank=True, db_default="")
    # What went back to the buyer: the sum of the order's succeeded refunds, kept with the
    # order (under its row lock) so lists and statistics need no join.
    refunded_amount = models.DecimalField(
        "已退款金额",
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        db_default=0,
        db_comment="已退款金额",
    )
    # Paid when it was already cancelled or expired (a buyer who paid an old QR code): the
    # money was taken and the VIP granted; staff may offer the refund.
    paid_after_close = models.BooleanField(
        "关闭后支付",
        default=False,
        db_default=False,
        help_text="订单已取消或已过期时收到的付款",
        db_comment="订单关闭后才收到付款",
    )

    objects = VipOrderQuerySet.as_manager()

    class Meta:
        db_table = "vip_order"
        db_table_comment = "会员订单表"
        verbose_name = "VIP订单"
        verbose_name_plural = "VIP订单"
        permissions = [("refund_viporder", "可以退款VIP订单")]
        indexes = [
            models.Index(fields=["user", "create_time"], name="vip_order_user_created_idx"),
            models.Index(fields=["status", "expire_time"], name="vip_order_status_expire_idx"),
            models.Index(fields=["grant_failed_at"], name="vip_order_grant_failed_idx"),
            # The overview's sales per day.
            models.Index(fields=["status", "pay_time"], name="vip_order_status_paid_idx"),
            # The admin's list, newest first (InnoDB appends the id: ties are ordered too).
            models.Index(fields=["create_time"], name="vip_order_created_idx"),
            # The staff search's other sorts, and the admin's filters together (a combination
            # that matches few orders is otherwise a scan of them all).
            models.Index(fields=["amount"], name="vip_order_amount_idx"),
            # The one search box: a provider's transaction id.
            models.Index(fields=["transaction_id"], name="vip_order_transaction_idx"),
            models.Index(fields=["pay_time"], name="vip_order_paid_idx"),
            models.Index(
                fields=["payment_method", "plan", "status", "expire_time"],
                name="vip_order_filters_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.order_number

    def effective_status(self, *, now=None) -> int:
        return effective_status(self.status, self.expire_time, now=now)

    @property
    def days_bought(self) -> int:
        """The days this order grants: as bought, or the plan's for an order another program
        inserted without them (`plan_days` 0)."""
        return self.plan_days or self.plan.days

    @property
    def plan_label(self) -> str:
        return self.plan_name or self.plan.name

    def get_effective_status_display(self, *, now=None) -> str:
        """The status as staff and buyers read it: a paid order says whether money went back
        (the old front end reads `status` 0–3, which stays 1)."""
        status = self.effective_status(now=now)
        if status == OrderStatus.PAID and self.refunded_amount:
            return "已退款" if self.refunded_amount >= self.amount else "部分退款"
        return OrderStatus(status).label


class SandboxPayment(models.Model):
    """The sandbox gateway's own book of what was paid, whoever pressed pay.

    It is the gateway's side, kept apart from the order on purpose: reconciliation asks it, as
    it would ask a real provider, when a notification never arrived.
    """

    order_number = models.CharField("订单号", max_length=50, unique=True)
    result = models.CharField("结果", max_length=10, choices=GatewayResult.choices)
    amount = models.DecimalField("金额", max_digits=10, decimal_places=2)
    transaction_id = models.CharField("网关交易号", max_length=64, unique=True)
    created_at = models.DateTimeField("支付时间", default=timezone.now)
    delivered_at = models.DateTimeField("通知送达时间", null=True, blank=True)
    delivery_attempts = models.PositiveIntegerField("通知次数", default=0)
    last_delivery_error = models.CharField("最近一次通知错误", max_length=255, blank=True)
    # What the sandbox refunded, by our refund number (its idempotency key).
    refunds = models.JSONField("退款", default=dict, blank=True)

    class Meta:
        db_table = "sandbox_payment"
        verbose_name = "沙箱支付记录"
        verbose_name_plural = "沙箱支付记录"

    def __str__(self) -> str:
        return f"{self.order_number} {self.result}"

    @property
    def refunded_amount(self) -> Decimal:
        return sum((Decimal(amount) for amount in self.refunds.values()), Decimal("0.00"))


class NotificationOutcome(models.TextChoices):
    RECEIVED = "received", "已接收"  # stored, not processed (yet)
    PAID = "paid", "已支付"
    REFUNDED = "refunded", "已退款"
    DUPLICATE = "duplicate", "重复通知"
    FAILED = "failed", "支付失败"
    AGREEMENT = "agreement", "签约/解约"
    IGNORED = "ignored", "已忽略"
    REFUSED = "refused", "已拒绝"
    ERROR = "error", "处理出错"


class PaymentNotification(models.Model):
    """Every request to the gateway callback, stored before it is processed and kept whatever
    the processing does (it commits on its own)."""

    received_at = models.DateTimeField("接收时间", default=timezone.now, db_index=True)
    remote_addr = models.CharField("来源地址", max_length=64, blank=True)
    provider = models.CharField("支付渠道", max_length=16, blank=True, default="")
    # The provider's own id of the notification (WeChat Pay's `id`, Alipay's `notify_id`).
    event_id = models.CharField("通知ID", max_length=64, blank=True, default="")
    headers = models.JSONField("请求头", default=dict)
    body = models.TextField("原始请求体", blank=True)
    order_number = models.CharField("订单号", max_length=64, blank=True, db_index=True)
    verified = models.BooleanField(
        "签名有效", null=True, help_text="空：沙箱模式下未签名的回调，或尚未校验"
    )
    outcome = models.CharField(
        "结果",
        max_length=10,
        choices=NotificationOutcome.choices,
        default=NotificationOutcome.RECEIVED,
    )
    detail = models.TextField("说明", blank=True)
    processed_at = models.DateTimeField("处理时间", null=True, blank=True)

    class Meta:
        db_table = "payment_notification"
        verbose_name = "支付回调记录"
        verbose_name_plural = "支付回调记录"
        ordering = ["-received_at", "-id"]
        indexes = [
            # The admin's filters, newest first; the pruning job's refused ones past retention.
            models.Index(fields=["outcome", "received_at"], name="notification_outcome_idx"),
            models.Index(fields=["verified", "received_at"], name="notification_verified_idx"),
        ]

    def __str__(self) -> str:
        received = timezone.localtime(self.received_at)
        return (
            f"{received:%Y-%m-%d %H:%M:%S} {self.order_number or '-'} {self.get_outcome_display()}"
        )


class OrderDay(models.Model):
    """A day (site time) whose orders are counted in `OrderDayTotal`: the days before today,
    built by the totals job (`payments.totals`). Its row is also the lock two refreshes of the
    same day take."""

    day = models.DateField("日期", primary_key=True)
    refreshed_at = models.DateTimeField("统计时间", default=timezone.now)

    class Meta:
        db_table = "order_day"
        verbose_name = "订单日汇总"
        verbose_name_plural = "订单日汇总"
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}"


class OrderDayTotal(models.Model):
    """The orders created on a day with one stored status, plan, payment method and day of
    payment: how many, and their amount. Statistics and the overview add these up instead of
    scanning a million orders."""

    day = models.ForeignKey(OrderDay, on_delete=models.CASCADE, related_name="totals")
    status = models.IntegerField(choices=OrderStatus.choices)
    plan_id = models.IntegerField("套餐")  # the plan's id (`vipType`), no key: a plain count
    payment_method = models.IntegerField(choices=PaymentMethod.choices, null=True)
    pay_day = models.DateField("支付日期", null=True)
    orders = models.PositiveIntegerField("订单数")
    amount = models.DecimalField("金额", max_digits=14, decimal_places=2)
    # What went back from these orders (counted with the order, on its day of payment), how
    # many of them, and how many were paid after they had closed.
    refunded_amount = models.DecimalField(
        "已退款金额", max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    refunded_orders = models.PositiveIntegerField("有退款的订单数", default=0)
    paid_after_close = models.PositiveIntegerField("关闭后支付的订单数", default=0)

    class Meta:
        db_table = "order_day_total"
        verbose_name = "订单日汇总明细"
        verbose_name_plural = "订单日汇总明细"
        indexes = [models.Index(fields=["pay_day"], name="order_day_total_paid_idx")]

    def __str__(self) -> str:
        return f"{self.day_id:%Y-%m-%d} {self.get_status_display()} {self.orders}"


class ProviderCall(models.Model):
    """One call the platform made to a payment provider, whatever came of it (saleor keeps
    each gateway response as a row): shown on the order's page. No secrets: what was asked
    about which order, the outcome, the provider's code, how long it took."""

    class Kind(models.TextChoices):
        CREATE = "create", "创建支付"
        QUERY = "query", "查询支付"
        CLOSE = "close", "关闭支付"
        REFUND = "refund", "申请退款"
        REFUND_QUERY = "refund_query", "查询退款"
        BILL = "bill", "下载对账单"
        SIGN = "sign", "发起签约"
        PRE_DEBIT = "pre_debit", "预扣费通知"
        CHARGE = "charge", "代扣扣款"
        UNSIGN = "unsign", "解约"

    class Outcome(models.TextChoices):
        OK = "ok", "成功"
        ALREADY_PAID = "already_paid", "已被支付"
        UNAVAILABLE = "unavailable", "无响应或出错"
        ERROR = "error", "程序错误"

    provider = models.CharField("支付渠道", max_length=16)
    kind = models.CharField("调用", max_length=16, choices=Kind.choices)
    order_number = models.CharField("订单号", max_length=50, db_index=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices)
    code = models.CharField("网关返回", max_length=100, blank=True, default="")
    duration_ms = models.PositiveIntegerField("耗时（毫秒）")
    called_at = models.DateTimeField("调用时间", default=timezone.now, db_index=True)

    class Meta:
        db_table = "provider_call"
        verbose_name = "支付网关调用"
        verbose_name_plural = "支付网关调用"
        ordering = ["-called_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.order_number} {self.outcome}"


class RefundState(models.TextChoices):
    PROCESSING = "processing", "退款中"
    SUCCEEDED = "succeeded", "退款成功"
    FAILED = "failed", "退款失败"
    CLOSED = "closed", "退款关闭"


def new_refund_number() -> str:
    """The merchant's refund number (WeChat Pay's `out_refund_no`, Alipay's `out_request_no`):
    the idempotency key sent to the provider. 31 characters: R, the second, 64 random bits."""
    return f"R{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(8)}"


class Refund(models.Model):
    """Money going back to the buyer of a paid order, in full or in part (`payments.refunds`).

    Made by staff (then the provider is asked with `refund_number`, its idempotency key) or
    found at the provider (a refund made in its console: `at_provider`). Processing refunds
    count against what is left to refund, so two at once cannot exceed the order's amount.
    The membership follows when it succeeds (the users app's ledger row names it)."""

    order = models.ForeignKey(
        VipOrder,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # the site's programs delete orders with their own SQL
        related_name="refunds",
        verbose_name="订单",
    )
    refund_number = models.CharField(
        "退款单号", max_length=64, unique=True, default=new_refund_number
    )
    amount = models.DecimalField(
        "退款金额", max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    reason = models.CharField("退款原因", max_length=80)
    state = models.CharField(
        "状态", max_length=12, choices=RefundState.choices, default=RefundState.PROCESSING
    )
    provider = models.CharField("支付渠道", max_length=16)
    provider_refund_id = models.CharField("网关退款号", max_length=64, blank=True, default="")
    at_provider = models.BooleanField(
        "在支付平台发起", default=False, help_text="在支付平台的商户后台退款，由通知或查询发现"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申请人",
    )
    detail = models.CharField("说明", max_length=255, blank=True, default="")
    created_at = models.DateTimeField("申请时间", default=timezone.now, db_index=True)
    completed_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        db_table = "vip_refund"
        verbose_name = "退款"
        verbose_name_plural = "退款"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="refund_state_idx"),
            models.Index(fields=["completed_at"], name="refund_completed_idx"),
        ]

    def __str__(self) -> str:
        return self.refund_number


class BillDay(models.Model):
    """One provider's bill of one day, and what reconciling it against the platform found
    (`payments.bills`). Re-running a day replaces its lines and keeps its differences' notes."""

    class State(models.TextChoices):
        WAITING = "waiting", "等待账单"  # not ready at the provider yet: the job asks again
        RECONCILED = "reconciled", "已对账"
        FAILED = "failed", "对账失败"

    provider = models.CharField("支付渠道", max_length=16)
    day = models.DateField("账单日期")
    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.WAITING)
    lines = models.PositiveIntegerField("账单行数", default=0)
    matched = models.PositiveIntegerField("一致", default=0)
    differences = models.PositiveIntegerField("差异", default=0)
    open_differences = models.PositiveIntegerField("未处理差异", default=0)
    gross = models.DecimalField("收款", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    refunds = models.DecimalField("退款", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    fees = models.DecimalField("手续费", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    net = models.DecimalField("净额", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    detail = models.CharField("说明", max_length=255, blank=True, default="")
    attempts = models.PositiveIntegerField("获取次数", default=0)
    reconciled_at = models.DateTimeField("对账时间", null=True, blank=True)

    class Meta:
        db_table = "bill_day"
        verbose_name = "对账日"
        verbose_name_plural = "对账日"
        ordering = ["-day", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "day"], name="bill_day_provider_day_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.day:%Y-%m-%d}"


class BillLine(models.Model):
    """One line of a provider's bill: a payment or a refund, as the provider counted it."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "收款"
        REFUND = "refund", "退款"

    bill = models.ForeignKey(BillDay, on_delete=models.CASCADE, related_name="bill_lines")
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    order_number = models.CharField("商户订单号", max_length=64, db_index=True)
    refund_number = models.CharField("商户退款单号", max_length=64, blank=True, default="")
    transaction_id = models.CharField("网关交易号", max_length=64, blank=True, default="")
    amount = models.DecimalField("金额", max_digits=12, decimal_places=2)
    fee = models.DecimalField("手续费", max_digits=12, decimal_places=2, default=Decimal("0.00"))
    occurred_at = models.DateTimeField("时间", null=True, blank=True)

    class Meta:
        db_table = "bill_line"
        verbose_name = "账单明细"
        verbose_name_plural = "账单明细"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_number} {self.amount}"


class BillDifference(models.Model):
    """What a bill and the platform disagree on; staff close it with a note (or the
    reconciliation completed it itself: a payment or refund the platform had missed)."""

    class Kind(models.TextChoices):
        PAID_THERE_ONLY = "paid_there", "网关已收款，平台未记录"
        PAID_HERE_ONLY = "paid_here", "平台已支付，账单中没有"
        AMOUNT = "amount", "金额不一致"
        REFUND_THERE_ONLY = "refund_there", "网关已退款，平台未记录"
        REFUND_HERE_ONLY = "refund_here", "平台已退款，账单中没有"

    bill = models.ForeignKey(BillDay, on_delete=models.CASCADE, related_name="difference_set")
    kind = models.CharField("差异", max_length=12, choices=Kind.choices)
    order_number = models.CharField("商户订单号", max_length=64)
    refund_number = models.CharField("商户退款单号", max_length=64, blank=True, default="")
    amount_here = models.DecimalField(
        "平台金额", max_digits=12, decimal_places=2, null=True, blank=True
    )
    amount_there = models.DecimalField(
        "账单金额", max_digits=12, decimal_places=2, null=True, blank=True
    )
    detail = models.CharField("说明", max_length=255, blank=True, default="")
    closed_at = models.DateTimeField("处理时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
        help_text="空且已处理：对账时自动补记",
    )
    note = models.CharField("处理说明", max_length=255, blank=True, default="")

    class Meta:
        db_table = "bill_difference"
        verbose_name = "对账差异"
        verbose_name_plural = "对账差异"
        ordering = ["-bill__day", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill", "kind", "order_number", "refund_number"],
                name="bill_difference_uniq",
            )
        ]
        indexes = [models.Index(fields=["closed_at"], name="bill_difference_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_number}"


class AgreementState(models.TextChoices):
    SIGNING = "signing", "待签约"  # its QR code shown, not (yet) signed
    ACTIVE = "active", "生效中"
    SUSPENDED = "suspended", "已暂停"  # the last try of a period's charge failed
    CANCELLED = "cancelled", "已解约"
    LAPSED = "lapsed", "未签约"  # not signed before its QR code's deadline


class CancelledBy(models.TextChoices):
    MEMBER = "member", "会员在本站取消"
    STAFF = "staff", "客服解约"
    APP = "app", "会员在支付应用中解约"
    PROVIDER = "provider", "支付平台解约"


def new_agreement_number() -> str:
    """Ours for an agreement (WeChat Pay's `out_contract_code`, Alipay's
    `external_agreement_no`): 'A', the second, then 64 random bits; 31 characters."""
    return f"A{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(8)}"


class Agreement(models.Model):
    """A member's 连续包月: the authority a provider holds to charge the plan's price each
    period (WeChat Pay's 委托代扣 contract, Alipay's 周期扣款 agreement), and where its
    periods stand. What the member agreed to is copied from the plan when it is made.

    The law (网络交易监督管理办法 Art. 18) is kept by `payments.renewals`: a reminder at least
    five days before each renewal (`reminded_period`, `reminded_at`), no charge before it; the
    member may cancel at any time, and nothing is charged after the cancel.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agreements"
    )
    plan = models.ForeignKey(VipPlan, on_delete=models.PROTECT, verbose_name="套餐")
    agreement_number = models.CharField(
        "签约协议号", max_length=40, unique=True, default=new_agreement_number
    )
    payment_method = models.IntegerField("支付方式", choices=PaymentMethod.choices)
    provider = models.CharField("支付渠道", max_length=16)
    provider_agreement_id = models.CharField(
        "网关协议号", max_length=64, blank=True, default="", db_index=True
    )
    state = models.CharField(
        "状态", max_length=10, choices=AgreementState.choices, default=AgreementState.SIGNING
    )
    # The terms the member signed.
    plan_name = models.CharField("套餐名称", max_length=50)
    period_days = models.PositiveIntegerField("周期天数")
    price = models.DecimalField("每期价格", max_digits=10, decimal_places=2)
    first_price = models.DecimalField("首期价格", max_digits=10, decimal_places=2)
    # What the member's QR code encodes (the provider's signing page), until it is signed.
    sign_code = models.TextField("签约码", blank=True, default="")
    sign_deadline = models.DateTimeField("签约截止时间")
    create_time = models.DateTimeField("创建时间", default=timezone.now)
    signed_at = models.DateTimeField("签约时间", null=True, blank=True)
    # The periods paid for, and the day (China time) the next charge is tried.
    periods_paid = models.PositiveIntegerField("已扣款期数", default=0)
    next_charge_date = models.DateField("下次扣款日", null=True, blank=True)
    failures = models.PositiveIntegerField("本期扣款失败次数", default=0)
    # The member's reminder of a period's renewal, and the provider's pre-debit notice of it
    # (WeChat Pay's 预扣费通知).
    reminded_period = models.PositiveIntegerField("已提醒的期数", default=0)
    reminded_at = models.DateTimeField("续费提醒时间", null=True, blank=True)
    noticed_period = models.PositiveIntegerField("已发预扣费通知的期数", default=0)
    noticed_at = models.DateTimeField("预扣费通知时间", null=True, blank=True)
    ended_at = models.DateTimeField("解约/暂停时间", null=True, blank=True)
    cancelled_by = models.CharField(
        "解约方", max_length=10, choices=CancelledBy.choices, blank=True, default=""
    )
    # Unsigned at the provider too (ours: once its unsign call succeeded; the app's: at once).
    unsigned_at_provider = models.BooleanField("已在支付平台解约", default=False)

    class Meta:
        db_table = "vip_agreement"
        verbose_name = "自动续费协议"
        verbose_name_plural = "自动续费协议"
        ordering = ["-create_time", "-id"]
        indexes = [
            # The renewal job: active agreements by their next charge day.
            models.Index(fields=["state", "next_charge_date"], name="vip_agreement_due_idx"),
            models.Index(fields=["user", "state"], name="vip_agreement_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement_number} {self.plan_name} {self.get_state_display()}"

    @property
    def next_period(self) -> int:
        return self.periods_paid + 1

    @property
    def next_amount(self) -> Decimal:
        return self.first_price if self.next_period == 1 else self.price

    @property
    def reminded(self) -> bool:
        """Whether the member was reminded of the coming charge (the page shows it so)."""
        return self.state == AgreementState.ACTIVE and self.reminded_period == self.next_period


class RenewalCharge(models.Model):
    """One try to charge an agreement's period: an order of its own, paid (or not) through
    the same path as any payment. Unique per agreement, period and try: two jobs that race
    for the same try cannot both charge it."""

    class State(models.TextChoices):
        CHARGING = "charging", "扣款中"
        PAID = "paid", "扣款成功"
        FAILED = "failed", "扣款失败"

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="charges")
    period = models.PositiveIntegerField("期数")
    attempt = models.PositiveIntegerField("第几次尝试")
    order = models.OneToOneField(
        VipOrder, on_delete=models.PROTECT, related_name="renewal_charge", verbose_name="订单"
    )
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.CHARGING)
    error = models.CharField("失败原因", max_length=100, blank=True, default="")
    created_at = models.DateTimeField("扣款时间", default=timezone.now, db_index=True)
    settled_at = models.DateTimeField("结果时间", null=True, blank=True)

    class Meta:
        db_table = "vip_renewal_charge"
        verbose_name = "自动续费扣款"
        verbose_name_plural = "自动续费扣款"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "period", "attempt"], name="vip_renewal_charge_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agreement.agreement_number} 第{self.period}期 #{self.attempt}"
