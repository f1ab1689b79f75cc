"""Input and output shapes of `/api/payment/...`, with the old service's camelCase names."""

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vipplatform.api import FlatSerializer, LabelledSerializer, PageQuerySerializer
from vipplatform.fields import BoundedDateTimeField, column_length

from .models import AgreementState, GatewayResult, OrderStatus, PaymentMethod, VipOrder

MAX_ID = 2**63 - 1


def _required(message: str) -> dict[str, str]:
    return {"required": message, "null": message, "blank": message}


class PlanOutput(FlatSerializer):
    id = serializers.IntegerField(help_text="即下单时的 planId / vipType")
    name = serializers.CharField()
    days = serializers.IntegerField(help_text="会员天数")
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, coerce_to_string=False, help_text="价格（元）"
    )


class GenerateQrCodeInput(FlatSerializer):
    userId = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        error_messages=_required("用户ID不能为空"),
        help_text="为谁下单：普通用户只能填自己的ID",
    )
    planId = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        error_messages=_required("套餐ID不能为空"),
        help_text="套餐ID（1 月度、2 季度、3 年度；见 GET /api/payment/plans）",
    )
    amount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0,
        coerce_to_string=False,
        error_messages=_required("支付金额不能为空"),
        help_text="页面展示的价格，必须等于套餐现价，否则 400",
    )
    paymentMethod = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        error_messages=_required("支付方式不能为空"),
        help_text="0 微信支付、1 支付宝、2 银行卡",
    )


class GenerateQrCodeOutput(FlatSerializer):
    orderId = serializers.CharField(source="order_number")
    qrCodeUrl = serializers.CharField(source="qr_code_url")
    amount = serializers.DecimalField(label="金额", max_digits=10, decimal_places=2)
    expireTime = serializers.DateTimeField(source="expire_time")


class OrderStatusOutput(FlatSerializer):
    """From a `VipOrder` or the cached `payments.status_cache.CachedOrderStatus`."""

    orderId = serializers.CharField(source="order_number", read_only=True)
    status = serializers.SerializerMethodField()
    amount = serializers.DecimalField(label="金额", max_digits=10, decimal_places=2, read_only=True)

    @extend_schema_field(serializers.ChoiceField(choices=OrderStatus.choices))
    def get_status(self, order: VipOrder) -> int:
        return order.effective_status()

    def to_representation(self, order) -> dict:
        # Every open payment dialog polls this every 2 seconds. Written out, the three values
        # skip DRF's field-by-field path, which builds the fields first; the fields above still
        # describe the answer in the API docs, and tests/payments/test_serializers.py holds
        # the two to the same output.
        return {
            "orderId": order.order_number,
            "status": self.get_status(order),
            "amount": order.amount,
        }


class CallbackInput(FlatSerializer):
    orderId = serializers.CharField(
        max_length=column_length(VipOrder, "order_number"),
        error_messages=_required("订单号不能为空"),
    )
    status = serializers.ChoiceField(
        choices=GatewayResult.values, error_messages=_required("支付状态不能为空")
    )
    amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, coerce_to_string=False
    )
    transactionId = serializers.CharField(
        max_length=column_length(VipOrder, "transaction_id"), required=False, allow_blank=True
    )


class CallbackOutput(FlatSerializer):
    orderId = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)


class OrderResponse(FlatSerializer):
    """The old service's OrderResponse."""

    id = serializers.IntegerField(label="ID", read_only=True)
    userId = serializers.IntegerField(source="user_id")
    orderNumber = serializers.CharField(source="order_number")
    vipType = serializers.IntegerField(source="plan_id")
    # The plan's name as bought; the plan's own for an order another program inserted
    # without one (a query for that row only).
    vipTypeName = serializers.CharField(source="plan_label")
    amount = serializers.DecimalField(label="金额", max_digits=10, decimal_places=2)
    paymentMethod = serializers.IntegerField(source="payment_method", allow_null=True)
    # Method fields, not callable sources: DRF inspects a callable's signature on every call.
    paymentMethodName = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    statusName = serializers.SerializerMethodField()
    # Null only on some of the site's old orders, which did not record them.
    createTime = serializers.DateTimeField(source="create_time", allow_null=True)
    payTime = serializers.DateTimeField(source="pay_time", allow_null=True)
    expireTime = serializers.DateTimeField(source="expire_time", allow_null=True)
    qrCodeUrl = serializers.CharField(source="qr_code_url")
    # Added: what went back (statusName says 已退款 or 部分退款; `status` stays 1, paid).
    refundedAmount = serializers.DecimalField(
        source="refunded_amount", label="已退款金额", max_digits=10, decimal_places=2
    )

    def get_status(self, order: VipOrder) -> int:
        return order.effective_status()

    def get_paymentMethodName(self, order: VipOrder) -> str | None:
        # Some of the site's old orders did not record a payment method.
        if order.payment_method is None:
            return None
        return PaymentMethod(order.payment_method).label

    def get_statusName(self, order: VipOrder) -> str:
        return order.get_effective_status_display()


class OrderSearchInput(PageQuerySerializer):
    """The search body: filters (all optional, all applied together), a page counted from 0,
    and the sort."""

    # each filter's name in `selectors.order_search`
    FILTERS = {
        "userId": "user_id",
        "orderNumber": "order_number",
        "vipType": "plan_id",
        "paymentMethod": "payment_method",
        "status": "status",
        "startTime": "created_from",
        "endTime": "created_to",
    }

    SORT_FIELDS = {
        "createTime": "create_time",
        "payTime": "pay_time",
        "amount": "amount",
        "id": "id",
    }

    userId = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    orderNumber = serializers.CharField(
        required=False,
        max_length=column_length(VipOrder, "order_number"),
        help_text="订单号，或它开头的几位（不按中间的片段查找：那要扫描全部订单）",
    )
    vipType = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    # allow_blank: the browsable API's form offers 「不限」 instead of preselecting a choice
    paymentMethod = serializers.ChoiceField(
        choices=PaymentMethod.choices, required=False, allow_blank=True
    )
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False, allow_blank=True)
    startTime = BoundedDateTimeField(required=False, help_text="创建时间下限（含）")
    endTime = BoundedDateTimeField(required=False, help_text="创建时间上限（含）")
    sortBy = serializers.ChoiceField(
        choices=[("createTime", "创建时间"), ("payTime", "支付时间"), ("amount", "金额"),
                 ("id", "ID")],
        default="createTime",
    )  # fmt: skip
    sortDirection = serializers.ChoiceField(
        choices=[("ASC", "升序"), ("DESC", "降序")], default="DESC"
    )

    def filters(self) -> dict:
        """The filters given, as `selectors.order_search`'s arguments (a blank choice is none)."""
        data = self.validated_data
        return {
            arg: data[field]
            for field, arg in self.FILTERS.items()
            if field in data and data[field] != ""
        }

    def ordering(self) -> list[str]:
        data = self.validated_data
        column = self.SORT_FIELDS[data["sortBy"]]
        sign = "-" if data["sortDirection"] == "DESC" else ""
        return [f"{sign}{column}", f"{sign}id"]


class CancelExpiredOutput(LabelledSerializer):
    expired = serializers.IntegerField()


class OrderStatisticsOutput(LabelledSerializer):
    totalOrders = serializers.IntegerField()
    pendingOrders = serializers.IntegerField()
    paidOrders = serializers.IntegerField()
    cancelledOrders = serializers.IntegerField()
    expiredOrders = serializers.IntegerField()
    totalAmount = serializers.DecimalField(max_digits=14, decimal_places=2)
    paidAmount = serializers.DecimalField(max_digits=14, decimal_places=2)
    paymentRate = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="已支付订单占全部订单的百分比（0-100）"
    )
    wechatOrders = serializers.IntegerField()
    alipayOrders = serializers.IntegerField()
    bankCardOrders = serializers.IntegerField()
    monthlyOrders = serializers.IntegerField()
    quarterlyOrders = serializers.IntegerField()
    yearlyOrders = serializers.IntegerField()
    # Added with refunds (the old front end reads none of them).
    refundedOrders = serializers.IntegerField(help_text="有退款（部分或全部）的订单数")
    refundedAmount = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="已退款金额"
    )
    netAmount = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="净收入：已支付金额减去已退款金额"
    )
    paidAfterCloseOrders = serializers.IntegerField(
        help_text="订单已取消或已过期后才收到付款的订单数（可考虑退款）"
    )


class RefundInput(FlatSerializer):
    """A refund: the amount (optional: all that is left of the order) and why."""

    amount = serializers.DecimalField(
        label="退款金额",
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="不填则退还订单剩余可退的全部金额",
    )
    reason = serializers.CharField(label="退款原因", max_length=80, trim_whitespace=True)


class RefundOutput(FlatSerializer):
    id = serializers.IntegerField(label="ID")
    orderNumber = serializers.CharField(source="order.order_number", label="订单号")
    refundNumber = serializers.CharField(source="refund_number", label="退款单号")
    amount = serializers.DecimalField(label="退款金额", max_digits=10, decimal_places=2)
    reason = serializers.CharField(label="退款原因")
    state = serializers.CharField(label="状态")
    stateName = serializers.CharField(source="get_state_display", label="状态名称")
    provider = serializers.CharField(label="支付渠道")
    providerRefundId = serializers.CharField(source="provider_refund_id", label="网关退款号")
    atProvider = serializers.BooleanField(source="at_provider", label="在支付平台发起")
    requestedBy = serializers.CharField(
        source="requested_by.username", allow_null=True, default=None, label="申请人"
    )
    createTime = serializers.DateTimeField(source="created_at", label="申请时间")
    completeTime = serializers.DateTimeField(
        source="completed_at", allow_null=True, label="完成时间"
    )


# --- 连续包月 ---------------------------------------------------------------------------------


class RenewingPlanOutput(FlatSerializer):
    id = serializers.IntegerField(help_text="签约时的 planId")
    name = serializers.CharField()
    days = serializers.IntegerField(help_text="每期天数")
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, coerce_to_string=False, help_text="每期价格（元）"
    )
    firstPrice = serializers.DecimalField(
        source="first_period_price",
        max_digits=10,
        decimal_places=2,
        coerce_to_string=False,
        help_text="首期价格（元），签约后立即扣款",
    )
    paymentMethods = serializers.ListField(
        child=serializers.IntegerField(),
        source="payment_methods",
        help_text="可签约的支付方式（0 微信支付、1 支付宝）",
    )


class AgreementInput(FlatSerializer):
    planId = serializers.IntegerField(
        label="套餐ID",
        min_value=1,
        max_value=MAX_ID,
        error_messages=_required("套餐ID不能为空"),
        help_text="自动续费套餐（见 GET /api/payment/renewal-plans）",
    )
    paymentMethod = serializers.ChoiceField(
        label="支付方式",
        choices=[PaymentMethod.WECHAT, PaymentMethod.ALIPAY],
        error_messages=_required("支付方式不能为空"),
        help_text="0 微信支付（委托代扣），1 支付宝（周期扣款）",
    )


class AgreementOutput(FlatSerializer):
    agreementNumber = serializers.CharField(source="agreement_number", label="签约协议号")
    userId = serializers.IntegerField(source="user_id", label="用户ID")
    planId = serializers.IntegerField(source="plan_id", label="套餐ID")
    planName = serializers.CharField(source="plan_name", label="套餐名称")
    periodDays = serializers.IntegerField(source="period_days", label="每期天数")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, label="每期价格")
    firstPrice = serializers.DecimalField(
        source="first_price", max_digits=10, decimal_places=2, label="首期价格"
    )
    paymentMethod = serializers.IntegerField(source="payment_method", label="支付方式")
    provider = serializers.CharField(label="支付渠道")
    state = serializers.CharField(label="状态")
    stateName = serializers.CharField(source="get_state_display", label="状态名称")
    signCode = serializers.SerializerMethodField(label="签约码（待签约时）")
    qrCodeUrl = serializers.SerializerMethodField(label="签约二维码图片（待签约时）")
    signDeadline = serializers.DateTimeField(source="sign_deadline", label="签约截止时间")
    signedAt = serializers.DateTimeField(source="signed_at", allow_null=True, label="签约时间")
    periodsPaid = serializers.IntegerField(source="periods_paid", label="已扣款期数")
    nextChargeDate = serializers.DateField(
        source="next_charge_date", allow_null=True, label="下次扣款日"
    )
    nextAmount = serializers.DecimalField(
        source="next_amount", max_digits=10, decimal_places=2, label="下次扣款金额"
    )
    reminded = serializers.BooleanField(label="已提醒下次扣款")
    failures = serializers.IntegerField(label="本期扣款失败次数")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True, label="结束时间")
    cancelledBy = serializers.CharField(source="cancelled_by", label="解约方")
    createTime = serializers.DateTimeField(source="create_time", label="创建时间")

    def get_signCode(self, agreement) -> str | None:
        return agreement.sign_code if agreement.state == AgreementState.SIGNING else None

    def get_qrCodeUrl(self, agreement) -> str | None:
        if agreement.state != AgreementState.SIGNING:
            return None
        return reverse("payments:agreement-qrcode", args=[agreement.agreement_number])
