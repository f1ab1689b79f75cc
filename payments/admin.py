"""Admin for plans and orders. Money and status are read-only; state changes go through
`payments.services`."""

from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .exceptions import OrderNotPending
from .models import (
    NotificationOutcome,
    OrderStatus,
    PaymentNotification,
    SandboxPayment,
    VipOrder,
    VipPlan,
)
from .notifications import notification_process


@admin.register(VipPlan)
class VipPlanAdmin(admin.ModelAdmin):
    """Orders copy the price when they are made, so editing a price changes no order."""

    list_display = ["id", "name", "days", "price", "is_active"]
    list_editable = ["name", "days", "price", "is_active"]

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to plans; take one off sale instead


class GrantFailedFilter(admin.SimpleListFilter):
    title = "VIP开通"
    parameter_name = "grant"

    def lookups(self, request, model_admin):
        return [("failed", "开通失败")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(grant_failed_at__isnull=False)
        return queryset


@admin.register(VipOrder)
class VipOrderAdmin(admin.ModelAdmin):
    list_display = [
        "order_number",
        "user_link",
        "plan_name",
        "amount",
        "payment_method",
        "status_name",
        "create_time",
        "pay_time",
        "grant_ok",
    ]
    list_filter = [
        GrantFailedFilter,
        "status",
        "plan",
        "payment_method",
        ("create_time", admin.DateFieldListFilter),
    ]
    search_fields = ["order_number", "user__username"]
    list_select_related = ["user"]
    list_per_page = 50
    show_full_result_count = False
    ordering = ["-create_time", "-id"]
    readonly_fields = [
        "order_number",
        "user",
        "plan",
        "plan_name",
        "plan_days",
        "amount",
        "payment_method",
        "status",
        "create_time",
        "pay_time",
        "expire_time",
        "qr_code_url",
        "transaction_id",
        "grant_failed_at",
        "grant_error",
    ]
    actions = ["cancel_pending", "retry_grant"]

    def has_add_permission(self, request):
        return False  # orders come from purchases

    def has_delete_permission(self, request, obj=None):
        return False  # money records are kept

    @admin.display(description="用户", ordering="user__username")
    def user_link(self, order: VipOrder):
        url = reverse("admin:users_user_change", args=[order.user_id])
        return format_html('<a href="{}">{}</a>', url, order.user.username)

    @admin.display(description="状态")
    def status_name(self, order: VipOrder) -> str:
        return order.get_effective_status_display()

    @admin.display(description="VIP已开通", boolean=True)
    def grant_ok(self, order: VipOrder) -> bool | None:
        if order.status != OrderStatus.PAID:
            return None
        return order.grant_failed_at is None

    @admin.action(description="取消所选的待支付订单", permissions=["change"])
    def cancel_pending(self, request, queryset):
        cancelled = skipped = 0
        for order_id in queryset.values_list("pk", flat=True):
            try:
                services.order_cancel(order_id=order_id)
                cancelled += 1
            except OrderNotPending:
                skipped += 1
        self.message_user(
            request, f"已取消 {cancelled} 个订单，跳过 {skipped} 个非待支付订单。", messages.SUCCESS
        )

    @admin.action(description="重试开通VIP（开通失败的已支付订单）", permissions=["change"])
    def retry_grant(self, request, queryset):
        failed = queryset.filter(grant_failed_at__isnull=False, status=OrderStatus.PAID)
        results = [
            services.order_retry_grant(order_id=pk) for pk in failed.values_list("pk", flat=True)
        ]
        granted = sum(results)
        self.message_user(
            request,
            f"重试 {len(results)} 个订单：成功 {granted}，仍失败 {len(results) - granted}。",
            messages.SUCCESS if granted == len(results) else messages.WARNING,
        )


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(admin.ModelAdmin):
    """Every gateway notification as received; read-only."""

    list_display = ["received_at", "order_number", "verified", "outcome", "remote_addr"]
    list_filter = ["verified", "outcome", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["order_number"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_reprocess_permission(self, request) -> bool:
        # Reprocessing can mark orders paid: it takes the right to change orders.
        return request.user.has_perm("payments.change_viporder")

    @admin.action(description="重新处理（已通过校验、处理出错的回调）", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        done = failed = 0
        errored = queryset.filter(outcome=NotificationOutcome.ERROR)
        # Only what passed the signature check; in sandbox mode nothing is signed.
        if settings.PAYMENT_CALLBACK_SECRET:
            errored = errored.filter(verified=True)
        else:
            errored = errored.exclude(verified=False)
        for notification in errored:
            try:
                notification_process(notification, body=notification.body.encode())
                done += 1
            except Exception as exc:  # recorded on the notification by notification_process
                failed += 1
                self.message_user(request, f"{notification}: {exc}", messages.ERROR)
        self.message_user(request, f"重新处理 {done} 条成功，{failed} 条失败。", messages.SUCCESS)


@admin.register(SandboxPayment)
class SandboxPaymentAdmin(admin.ModelAdmin):
    """The sandbox gateway's own book (what a real provider's dashboard would show)."""

    list_display = [
        "created_at",
        "order_number",
        "result",
        "amount",
        "delivered_at",
        "delivery_attempts",
    ]
    search_fields = ["order_number", "transaction_id"]
    list_filter = ["result"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
