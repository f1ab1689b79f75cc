from vipplatform.exceptions import Conflict, DomainError, ErrorKind, NotFound


class OrderNotFound(NotFound):
    message = "订单不存在"


class PlanUnavailable(DomainError):
    message = "套餐不存在或已下架"
    field = "plan_id"


class MemberWithoutEnd(Conflict):
    """The buyer's membership has no end (the old site's `is_vip = 1` without an expiry): a
    plan's days would add nothing to it."""

    message = "您已是长期会员（无到期时间），无需购买"


class AmountMismatch(DomainError):
    message = "支付金额与订单金额不符"
    field = "amount"


class OrderNotPending(Conflict):
    message = "订单不是待支付状态"


class InvalidSignature(DomainError):
    kind = ErrorKind.UNAUTHENTICATED
    message = "回调签名无效"


class NotificationTooLarge(DomainError):
    kind = ErrorKind.TOO_LARGE
    message = "回调请求体过大"


class GatewayUnavailable(DomainError):
    """The payment provider did not answer in time, or answered with an error of its own."""

    kind = ErrorKind.UNAVAILABLE
    message = "支付服务暂时不可用，请稍后重试"


class PaymentMethodUnavailable(DomainError):
    message = "该支付方式暂未开通，请选择其他支付方式"
    field = "payment_method"


class NotificationInvalid(DomainError):
    """A notification whose signature holds but whose content is not ours or not sound."""

    message = "回调内容无效"


class WrongProvider(Conflict):
    """A notification about an order another provider serves (its payment method's): only the
    order's own provider can have taken its money."""

    message = "该订单不由此支付渠道收款"


class BillNotReady(GatewayUnavailable):
    """The provider has not made the day's bill yet (WeChat Pay's from about 10:00 the next
    day): asked again later."""

    message = "对账单尚未生成"


class OrderNotRefundable(Conflict):
    message = "只有已支付的订单可以退款"


class RefundTooLarge(DomainError):
    """More than what is left of the order's amount (refunds in progress count as made)."""

    field = "amount"

    def __init__(self, left) -> None:
        super().__init__(
            f"退款金额必须在0.01到{left}元之间（订单剩余可退金额）"
            if left > 0
            else "订单已无可退金额"
        )


class RefundsUnsupported(Conflict):
    message = "该订单的支付渠道不支持退款"


class AgreementNotFound(NotFound):
    message = "自动续费协议不存在"


class AgreementExists(Conflict):
    message = "您已开通自动续费，如需更换套餐请先取消当前的自动续费"


class AgreementEnded(Conflict):
    message = "自动续费协议已结束"
