"""Admin for plans and orders. Money and status are read-only; state changes go through
`payments.services`."""

from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from vipplatform.admin_lists import (
    BigListAdmin,
    CappedCountPaginator,
    CsvExportAdmin,
    changelist_url,
)
from vipplatform.exceptions import DomainError
from vipplatform.permissions import CHANGE_ORDERS, VIEW_ORDERS, has_staff_right

from . import bills, refunds, renewals, selectors, services
from .exceptions import OrderNotPending
from .gateways import display_name
from .models import (
    OLD_FRONT_END_PRICES,
    Agreement,
    BillDay,
    BillDifference,
    CancelledBy,
    NotificationOutcome,
    OrderStatus,
    PaymentMethod,
    PaymentNotification,
    ProviderCall,
    Refund,
    RefundState,
    RenewalCharge,
    SandboxPayment,
    VipOrder,
    VipPlan,
    effective_status,
)
from .notifications import notification_process
from .signals import refund_previewed
from .story import order_story


class VipPlanForm(forms.ModelForm):
    """A plan; changing the price of one the old front end sells asks for a confirmation."""

    confirm_price = forms.BooleanField(
        label="确认修改价格",
        required=False,
        help_text="旧前端（Vue）提交的是写在它代码里的价格：改价后它购买此套餐会被拒绝，直到前端更新。",
    )

    class Meta:
        model = VipPlan
        fields = ["name", "days", "price", "is_active", "renews", "first_price"]

    def clean(self):
        data = super().clean()
        sent = OLD_FRONT_END_PRICES.get(self.instance.pk)
        if sent is not None and data.get("renews"):
            self.add_error(
                "renews", "旧前端按一次性套餐出售此套餐：要开通连续包月，请新建一个自动续费套餐。"
            )
        price = data.get("price")
        if (
            sent is not None
            and price is not None
            and price > 0  # an invalid price gets the field's own error first
            and price != sent
            and "price" in self.changed_data
            and not data.get("confirm_price")
        ):
            self.add_error(
                "price",
                f"旧前端购买「{self.instance.name}」时固定提交 ¥{sent}：价格改为 ¥{price} 后，"
                "它的每次购买都会被拒绝（页面显示 Request failed with status code 400），"
                "直到前端更新价格。确认要修改，请勾选下方「确认修改价格」后再保存。",
            )
        return data


@admin.register(VipPlan)
class VipPlanAdmin(admin.ModelAdmin):
    form = VipPlanForm
    list_display = ["id", "name", "days", "price", "is_active", "renews", "first_price"]
    list_display_links = ["id", "name"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "days", "price", "confirm_price", "is_active"],
                "description": (
                    "已创建的订单保留下单时的套餐名称、天数和价格：修改只影响之后的订单。"
                    "要停售一个套餐，取消「在售」即可（有订单的套餐不能删除）。"
                ),
            },
        ),
        (
            "连续包月",
            {
                "fields": ["renews", "first_price"],
                "description": (
                    "自动续费套餐在会员页面单独列出（旧前端不显示）：会员签约后首期立即扣款，之后每个"
                    "周期（天数）扣款一次（价格），每次扣款前至少5天提醒，可随时取消。已签约的协议"
                    "保留签约时的价格和周期：修改只影响之后的签约。"
                ),
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to plans; take one off sale instead


class ProviderRecordAdmin(admin.ModelAdmin):
    """A provider's record kept as it happened (a notification, a call, a refund, a day's bill):
    nobody adds, changes or deletes one in the admin. Its provider is named as staff know it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="支付渠道", ordering="provider")
    def channel(self, record) -> str:
        return display_name(record.provider)


class StatusFilter(admin.SimpleListFilter):
    """The status users see (`status_seen_as`): a pending order past its deadline is expired."""

    title = "状态"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return OrderStatus.choices

    def queryset(self, request, queryset):
        if self.value() in {str(code) for code in OrderStatus.values}:
            return queryset.with_status(int(self.value()))
        return queryset


class GrantFailedFilter(admin.SimpleListFilter):
    title = "VIP开通"
    parameter_name = "grant"

    def lookups(self, request, model_admin):
        return [("failed", "开通失败")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.grant_failing()
        return queryset


class MoneyFilter(admin.SimpleListFilter):
    """Orders whose money needs a look: refunded (in part or in full), or paid after they were
    closed (a buyer who paid an old QR code: the refund is one click away)."""

    title = "退款"
    parameter_name = "money"

    def lookups(self, request, model_admin):
        return [("refunded", "有退款"), ("paid_after_close", "关闭后支付")]

    def queryset(self, request, queryset):
        if self.value() == "refunded":
            return queryset.filter(refunded_amount__gt=0)
        if self.value() == "paid_after_close":
            return queryset.filter(paid_after_close=True)
        return queryset


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="退款金额", max_digits=10, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = forms.CharField(label="退款原因", max_length=80, help_text="必填，会记在退款记录里")

    def __init__(self, *args, left: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].max_value = left
        self.fields["amount"].validators.append(MaxValueValidator(left))
        self.fields["amount"].help_text = f"最多¥{left}（默认全额）"


METHODS = dict(PaymentMethod.choices)
STATUSES = dict(OrderStatus.choices)
OUTCOMES = dict(NotificationOutcome.choices)


@admin.register(VipOrder)
class VipOrderAdmin(CsvExportAdmin, BigListAdmin, admin.ModelAdmin):
    list_display = [
        "order_number",
        "user_link",
        "plan_name",
        "amount",
        "status_name",
        "created",
        "grant_ok",
    ]
    list_filter = [
        StatusFilter,
        GrantFailedFilter,
        MoneyFilter,
        "plan",
        "payment_method",
        ("create_time", admin.DateFieldListFilter),
    ]
    search_fields = ["order_number"]  # see get_search_results
    search_help_text = "准确的用户名，或订单号（开头几位即可）"
    # The users come in a second query: joined, MariaDB sorts the whole order table into a
    # temporary table before the LIMIT (2.6 s over a million orders, against milliseconds).
    list_select_related = False
    ordering = ["-create_time", "-id"]
    # The columns an index sorts; by user or plan MariaDB sorts a million rows (4.8 s by user).
    sortable_by = ["order_number", "amount", "created"]
    fieldsets = [
        (None, {"fields": ["order_number", "user_link", "status_name", "related"]}),
        (
            "购买",
            {"fields": ["plan", "plan_name", "plan_days", "amount", "payment_method"]},
        ),
        ("时间", {"fields": ["create_time", "expire_time", "pay_time"]}),
        (
            "支付网关与VIP开通",
            {"fields": ["transaction_id", "qr_code_url", "grant_failed_at", "grant_error"]},
        ),
        ("退款", {"fields": ["refunded_amount", "paid_after_close"]}),
    ]
    readonly_fields = [
        "order_number",
        "user_link",
        "status_name",
        "related",
        "plan",
        "plan_name",
        "plan_days",
        "amount",
        "payment_method",
        "create_time",
        "expire_time",
        "pay_time",
        "transaction_id",
        "qr_code_url",
        "grant_failed_at",
        "grant_error",
        "refunded_amount",
        "paid_after_close",
    ]
    actions = ["cancel_pending", "retry_grant"]
    export_date_field = "create_time"
    export_fields = [
        "order_number", "user_id", "user__username", "plan_name", "plan_days", "amount",
        "payment_method", "status", "expire_time", "create_time", "pay_time", "transaction_id",
        "grant_failed_at",
    ]  # fmt: skip
    export_columns = [
        ("订单号", itemgetter("order_number")),
        ("用户ID", itemgetter("user_id")),
        ("用户名", itemgetter("user__username")),
        ("套餐", itemgetter("plan_name")),
        ("天数", itemgetter("plan_days")),
        ("金额", itemgetter("amount")),
        ("支付方式", lambda o: METHODS.get(o["payment_method"], "")),
        ("状态", lambda o: STATUSES[effective_status(o["status"], o["expire_time"])]),
        ("创建时间", itemgetter("create_time")),
        ("支付时间", itemgetter("pay_time")),
        ("网关交易号", itemgetter("transaction_id")),
        ("VIP开通失败时间", itemgetter("grant_failed_at")),
    ]

    class Media:
        css = {"all": ["vip/admin.css"]}

    def has_add_permission(self, request):
        return False  # orders come from purchases

    def has_delete_permission(self, request, obj=None):
        return False  # money records are kept

    change_form_template = "admin/payments/viporder/change_form.html"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_viporder_refund",
            ),
            *super().get_urls(),
        ]

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("payments.refund_viporder")

    def refund_view(self, request, object_id):
        """Refund one order: the amount (all that is left by default) and a reason, then a
        confirmation showing the member's expiry before and after."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("订单不存在")
        back = reverse("admin:payments_viporder_change", args=[order.pk])
        left = refunds.refundable_left(order)
        if order.status != OrderStatus.PAID or left <= 0:
            self.message_user(
                request, "该订单没有可退的金额（只有已支付的订单可以退款）。", messages.WARNING
            )
            return HttpResponseRedirect(back)
        form = RefundForm(request.POST or None, left=left, initial={"amount": left})
        preview = None
        if request.method == "POST" and form.is_valid():
            amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
            # Confirmed as previewed: an amount changed after the preview is previewed again.
            if "confirm" in request.POST and request.POST.get("previewed") == str(amount):
                try:
                    refund = refunds.refund_request(
                        order_number=order.order_number, amount=amount, reason=reason,
                        actor=request.user,
                    )  # fmt: skip
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.log_change(request, order, f"退款¥{amount}：{reason}")
                    self.message_user(
                        request,
                        f"退款单 {refund.refund_number}：¥{refund.amount}，"
                        f"{refund.get_state_display()}。",
                        messages.SUCCESS
                        if refund.state == RefundState.SUCCEEDED
                        else messages.WARNING,
                    )
                    return HttpResponseRedirect(back)
            preview = amount
        amount = preview if preview is not None else left
        membership = [answer for _, answer in refund_previewed.send(
            sender=VipOrder, order=order, amount=amount)]  # fmt: skip
        context = {
            **self.admin_site.each_context(request),
            "title": f"退款：订单 {order.order_number}",
            "opts": self.model._meta,
            "order": order,
            "form": form,
            "left": left,
            "amount": amount,
            "confirming": preview is not None,
            "membership": membership[0] if membership else None,
            "earlier": selectors.refunds_of(order_id=order.pk),
        }
        return TemplateResponse(request, "admin/payments/refund.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: the page offers no save buttons. Below them, the story.
        order = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "may_refund": order is not None
            and order.status == OrderStatus.PAID
            and order.refunded_amount < order.amount
            and self.has_refund_permission(request),
            "story": order_story(order) if order is not None else [],
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user")

    def get_search_results(self, request, queryset, search_term):
        """A username's orders when the term is one (the (user_id, create_time) index), else
        the orders whose number starts with it (the order-number index): a substring or an OR
        across a join scans a million orders."""
        term = search_term.strip()
        if not term:
            return queryset, False
        user = get_user_model()._default_manager.filter(username=term).values("pk").first()
        if user is not None:
            return queryset.filter(user_id=user["pk"]), False
        return queryset.filter(order_number__istartswith=term), False

    @admin.display(description="用户", ordering="user__username")
    def user_link(self, order: VipOrder):
        url = reverse("admin:users_user_change", args=[order.user_id])
        return format_html('<a href="{}">{}</a>', url, order.user.username)

    @admin.display(description="状态")
    def status_name(self, order: VipOrder) -> str:
        return order.get_effective_status_display()

    @admin.display(description="创建时间", ordering="create_time")
    def created(self, order: VipOrder) -> str:
        if order.create_time is None:  # some of the site's old orders did not record it
            return "未知"
        return f"{timezone.localtime(order.create_time):%Y-%m-%d %H:%M}"

    @admin.display(description="VIP已开通", boolean=True)
    def grant_ok(self, order: VipOrder) -> bool | None:
        if order.status != OrderStatus.PAID:
            return None
        return order.grant_failed_at is None

    @admin.display(description="相关记录")
    def related(self, order: VipOrder):
        return format_html(
            '<a href="{}">支付回调</a> · <a href="{}">VIP变更记录</a> · '
            '<a href="{}">该用户的全部订单</a>',
            changelist_url("payments_paymentnotification", q=order.order_number),
            changelist_url("users_vipledgerentry", q=order.order_number),
            changelist_url("payments_viporder", user__id__exact=order.user_id),
        )

    @admin.action(description="取消所选的待支付订单", permissions=["change"])
    def cancel_pending(self, request, queryset):
        """A confirmation page first, listing what will be cancelled and what is skipped."""
        orders = list(queryset.select_related("user")[: CappedCountPaginator.CAP])
        pending = [o for o in orders if o.effective_status() == OrderStatus.PENDING]
        if "confirm" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": "取消订单",
                "opts": self.model._meta,
                "pending": pending,
                "skipped": len(orders) - len(pending),
                "selected": orders,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/payments/cancel_orders.html", context)
        cancelled = 0
        for order in pending:
            try:
                services.order_cancel(order_id=order.pk)
            except OrderNotPending:
                continue  # paid or expired meanwhile
            cancelled += 1
            self.log_change(request, order, "取消订单")
        level = messages.SUCCESS if cancelled else messages.WARNING
        self.message_user(
            request, f"已取消 {cancelled} 个订单，跳过 {len(orders) - cancelled} 个。", level
        )
        return None

    @admin.action(description="重试开通VIP（开通失败的已支付订单）", permissions=["change"])
    def retry_grant(self, request, queryset):
        failed = queryset.grant_failing()
        results = [
            services.order_retry_grant(order_id=pk) for pk in failed.values_list("pk", flat=True)
        ]
        granted = sum(results)
        if not results:
            self.message_user(request, "所选订单中没有开通失败的已支付订单。", messages.WARNING)
            return
        self.message_user(
            request,
            f"重试 {len(results)} 个订单：成功 {granted}，仍失败 {len(results) - granted}。",
            messages.SUCCESS if granted == len(results) else messages.WARNING,
        )


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(CsvExportAdmin, BigListAdmin, ProviderRecordAdmin):
    """Every gateway notification as received; read-only."""

    list_display = ["received_at", "channel", "order_link", "verified", "outcome", "remote_addr"]
    list_filter = ["verified", "outcome", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["=order_number"]
    search_help_text = "准确的订单号"
    sortable_by = ["received_at", "order_link"]  # the indexed columns
    actions = ["reprocess"]
    export_date_field = "received_at"
    export_fields = [
        "received_at", "provider", "order_number", "verified", "outcome", "detail",
        "remote_addr", "processed_at",
    ]  # fmt: skip
    export_columns = [
        ("接收时间", itemgetter("received_at")),
        ("支付渠道", lambda n: display_name(n["provider"])),
        ("订单号", itemgetter("order_number")),
        ("签名有效", lambda n: {True: "是", False: "否", None: "未校验"}[n["verified"]]),
        ("结果", lambda n: OUTCOMES.get(n["outcome"], n["outcome"])),
        ("说明", itemgetter("detail")),
        ("来源地址", itemgetter("remote_addr")),
        ("处理时间", itemgetter("processed_at")),
    ]

    class Media:
        css = {"all": ["vip/admin.css"]}

    @admin.display(description="订单号", ordering="order_number")
    def order_link(self, notification: PaymentNotification):
        if not notification.order_number:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            changelist_url("payments_viporder", q=notification.order_number),
            notification.order_number,
        )

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
        skipped = queryset.count() - errored.count()
        for notification in errored:
            try:
                notification_process(notification, body=notification.body.encode())
                done += 1
            except Exception as exc:  # recorded on the notification by notification_process
                failed += 1
                self.message_user(request, f"{notification}: {exc}", messages.ERROR)
        message = f"重新处理 {done} 条成功，{failed} 条失败。"
        if skipped:
            message += (
                f"跳过 {skipped} 条：只重新处理签名有效、处理出错的回调"
                "（被拒绝、已处理的回调不会重新处理）。"
            )
        level = messages.SUCCESS if done and not failed and not skipped else messages.WARNING
        self.message_user(request, message, level)


@admin.register(ProviderCall)
class ProviderCallAdmin(BigListAdmin, ProviderRecordAdmin):
    """Every call to a payment provider (`payments.calls`); a record, read-only."""

    list_display = ["called_at", "channel", "kind", "order_link", "outcome", "code",
                    "duration_ms"]  # fmt: skip
    list_filter = ["kind", "outcome", "provider"]
    search_fields = ["=order_number"]
    search_help_text = "准确的订单号"
    sortable_by = ["called_at"]

    @admin.display(description="订单号")
    def order_link(self, call: ProviderCall):
        return format_html(
            '<a href="{}">{}</a>', changelist_url("payments_viporder", q=call.order_number),
            call.order_number,
        )  # fmt: skip


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


@admin.register(Refund)
class RefundAdmin(BigListAdmin, ProviderRecordAdmin):
    """Every refund, as recorded: staff start them from an order's page."""

    list_display = [
        "refund_number", "order_link", "amount", "state", "channel", "at_provider",
        "requested_by", "created_at", "completed_at",
    ]  # fmt: skip
    list_filter = ["state", "at_provider", "provider"]
    search_fields = ["refund_number", "order__order_number", "provider_refund_id"]
    list_select_related = ["order", "requested_by"]
    ordering = ["-created_at", "-id"]

    @admin.display(description="订单")
    def order_link(self, refund: Refund):
        url = reverse("admin:payments_viporder_change", args=[refund.order_id])
        return format_html('<a href="{}">{}</a>', url, refund.order.order_number)


class BillDifferenceInline(admin.TabularInline):
    model = BillDifference
    fields = ["kind", "order_link", "refund_number", "amount_here", "amount_there", "detail",
              "closed_at", "closed_by", "note"]  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="订单")
    def order_link(self, difference: BillDifference):
        return _order_link(difference.order_number)


def _order_link(order_number: str):
    order = VipOrder.objects.filter(order_number=order_number).values("pk").first()
    if order is None:
        return format_html("{}（平台没有此订单）", order_number)
    url = reverse("admin:payments_viporder_change", args=[order["pk"]])
    return format_html('<a href="{}">{}</a>', url, order_number)


@admin.register(BillDay)
class BillDayAdmin(ProviderRecordAdmin):
    """The days reconciled, as a calendar per provider: green when the bill and the platform
    agree, red with open differences (or a bill that failed), amber while the bill is not ready.
    A day opens its differences."""

    change_list_template = "admin/payments/billday/calendar.html"
    inlines = [BillDifferenceInline]
    fields = ["channel", "day", "state", "detail", "lines", "matched", "differences",
              "open_differences", "handle", "gross", "refunds", "fees", "net", "attempts",
              "reconciled_at"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="处理")
    def handle(self, record: BillDay):
        if not record.open_differences:
            return "没有未处理的差异"
        url = changelist_url("payments_billdifference", bill__id__exact=record.pk,
                             closed_at__isempty=1)  # fmt: skip
        return format_html('<a href="{}" id="handle-differences">处理这一天未处理的 {} 个差异</a>',
                           url, record.open_differences)  # fmt: skip

    def changelist_view(self, request, extra_context=None):
        try:
            month = date.fromisoformat(request.GET.get("month", "") + "-01")
        except ValueError:
            month = timezone.localdate().replace(day=1)
        after = (month + timedelta(days=32)).replace(day=1)
        days = [month + timedelta(days=n) for n in range((after - month).days)]
        found = {
            (record.provider, record.day): record
            for record in BillDay.objects.filter(day__gte=month, day__lt=after)
        }
        providers = sorted({provider for provider, _ in found} | set(bills.bill_provider_names()))
        context = {
            **self.admin_site.each_context(request),
            "title": f"对账日历 · {month:%Y年%m月}",
            "opts": self.model._meta,
            "days": days,
            "rows": [
                (display_name(provider), [(day, found.get((provider, day))) for day in days])
                for provider in providers
            ],
            "previous": f"{(month - timedelta(days=1)):%Y-%m}",
            "next": f"{after:%Y-%m}",
            "open": BillDifference.objects.filter(closed_at__isnull=True).count(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_list_template, context)


class CloseForm(forms.Form):
    note = forms.CharField(
        label="处理说明", max_length=255, help_text="必填：查明的原因和所做的处理"
    )


@admin.register(BillDifference)
class BillDifferenceAdmin(BigListAdmin, admin.ModelAdmin):
    list_display = ["bill", "kind", "order_cell", "refund_number", "amount_here", "amount_there",
                    "detail", "is_open", "note"]  # fmt: skip
    list_filter = [("closed_at", admin.EmptyFieldListFilter), "kind", "bill__provider"]
    search_fields = ["order_number", "refund_number"]
    list_select_related = ["bill"]
    actions = ["close_differences"]
    readonly_fields = ["bill", "kind", "order_cell", "refund_number", "amount_here",
                       "amount_there", "detail", "closed_at", "closed_by", "note"]  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "bill__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="订单")
    def order_cell(self, difference: BillDifference):
        return _order_link(difference.order_number)

    @admin.display(description="未处理", boolean=True)
    def is_open(self, difference: BillDifference) -> bool:
        return difference.closed_at is None

    @admin.action(description="处理所选差异（填写说明后关闭）", permissions=["change"])
    def close_differences(self, request, queryset):
        open_ones = list(queryset.filter(closed_at__isnull=True).select_related("bill"))
        form = CloseForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            for difference in open_ones:
                bills.bill_difference_close(
                    difference_id=difference.pk, actor=request.user, note=form.cleaned_data["note"]
                )
                self.log_change(request, difference, f"关闭：{form.cleaned_data['note']}")
            self.message_user(request, f"已关闭 {len(open_ones)} 个差异。", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "处理对账差异",
            "opts": self.model._meta,
            "differences": open_ones,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/payments/close_differences.html", context)


class RenewalChargeInline(admin.TabularInline):
    model = RenewalCharge
    fields = ["period", "attempt", "order_link", "state", "error", "created_at", "settled_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["period", "attempt"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="订单")
    def order_link(self, charge: RenewalCharge):
        url = reverse("admin:payments_viporder_change", args=[charge.order_id])
        return format_html('<a href="{}">{}</a>', url, charge.order.order_number)


@admin.register(Agreement)
class AgreementAdmin(BigListAdmin, ProviderRecordAdmin):
    """Members' 连续包月 agreements and each try of each period. Seen with the right to view
    orders; cancelled (解约, at the provider too) with the right to change orders, as in the
    API."""

    list_display = [
        "agreement_number", "user_link", "plan_name", "channel", "state", "next_charge_date",
        "periods_paid", "failures", "create_time", "ended_at",
    ]  # fmt: skip
    list_filter = ["state", "provider", "cancelled_by"]
    search_fields = ["agreement_number", "provider_agreement_id", "user__username"]
    list_select_related = ["user"]
    ordering = ["-create_time", "-id"]
    readonly_fields = [
        "agreement_number", "user", "plan", "payment_method", "provider",
        "provider_agreement_id", "state", "plan_name", "period_days", "price", "first_price",
        "sign_deadline", "create_time", "signed_at", "periods_paid", "next_charge_date",
        "failures", "reminded_period", "reminded_at", "noticed_period", "noticed_at",
        "ended_at", "cancelled_by", "unsigned_at_provider",
    ]  # fmt: skip
    exclude = ["sign_code"]
    inlines = [RenewalChargeInline]
    actions = ["cancel_agreements"]

    def has_view_permission(self, request, obj=None):
        return has_staff_right(request.user, VIEW_ORDERS)

    def has_cancel_permission(self, request) -> bool:
        return has_staff_right(request.user, CHANGE_ORDERS)

    @admin.display(description="会员", ordering="user__username")
    def user_link(self, agreement: Agreement):
        url = reverse("admin:users_user_change", args=[agreement.user_id])
        return format_html('<a href="{}">{}</a>', url, agreement.user.username)

    @admin.action(description="解约（取消所选会员的自动续费）", permissions=["cancel"])
    def cancel_agreements(self, request, queryset):
        cancelled = 0
        for number in queryset.values_list("agreement_number", flat=True):
            try:
                renewals.agreement_cancel(agreement_number=number, by=CancelledBy.STAFF)
            except DomainError:
                continue  # ended already
            cancelled += 1
        self.message_user(
            request, f"已解约 {cancelled} 个自动续费协议（不再扣款，并在支付平台解约）。"
        )
