from vipplatform.exceptions import Conflict, DomainError, NotFound


class OrderNotFound(NotFound):
    message = "订单不存在"


class PlanUnavailable(DomainError):
    message = "套餐不存在或已下架"
    field = "planId"


class AmountMismatch(DomainError):
    message = "支付金额与订单金额不符"
    field = "amount"


class OrderNotPending(Conflict):
    message = "订单不是待支付状态"


class InvalidSignature(DomainError):
    status = 401
    message = "回调签名无效"


class NotificationTooLarge(DomainError):
    status = 413
    message = "回调请求体过大"
