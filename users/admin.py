"""Admin for users and the VIP ledger. VIP changes go through `users.services` only, so each
one is in the ledger with the admin who made it."""

from operator import itemgetter

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import AdminSplitDateTime, AdminTextInputWidget
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from vipplatform.admin_lists import BigListAdmin, CsvExportAdmin, changelist_url
from vipplatform.exceptions import DomainError
from vipplatform.times import to_minute

from . import selectors, services
from .models import (
    MemberEmail,
    MemberEmailKind,
    User,
    VipChangeKind,
    VipLedgerEntry,
    vip_active_q,
    vip_without_end_q,
)


class VipStateFilter(admin.SimpleListFilter):
    title = "VIP状态"
    parameter_name = "vip"

    def lookups(self, request, model_admin):
        return [
            ("active", "有效"),
            ("no_end", "长期（无到期时间）"),
            ("expired", "已过期"),
            ("never", "无"),
        ]

    def queryset(self, request, queryset):
        active = vip_active_q(now=timezone.now())
        if self.value() == "active":
            return queryset.filter(active)
        if self.value() == "expired":
            return queryset.filter(vip_expire_time__isnull=False).exclude(active)
        if self.value() == "no_end":
            return queryset.filter(vip_without_end_q())
        if self.value() == "never":
            return queryset.filter(vip_expire_time__isnull=True, is_vip=False)
        return queryset


class VipLedgerInline(admin.TabularInline):
    model = VipLedgerEntry
    fk_name = "user"
    fields = ["created_at", "kind", "order", "expire_before", "expire_after", "actor", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "actor")


class AdminUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class AdminUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]


def _plan_choices():
    # Plans belong to the payments app; read them without importing its code.
    plans = apps.get_model("payments", "VipPlan").objects.for_sale()
    return [("", "——")] + [(plan.days, f"{plan.name}（{plan.days}天）") for plan in plans]


class GrantVipForm(forms.Form):
    days = forms.TypedChoiceField(label="按套餐延长", coerce=int, required=False, empty_value=None)
    expire_time = forms.SplitDateTimeField(
        label="或设为到期时间",
        required=False,
        widget=AdminSplitDateTime,
        help_text="日期和时间都要填写（站点时区）",
    )
    reason = forms.CharField(label="原因", max_length=200, widget=AdminTextInputWidget)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = _plan_choices()

    def clean_expire_time(self):
        expire_time = self.cleaned_data["expire_time"]
        if expire_time is not None and expire_time <= timezone.now():
            raise forms.ValidationError("到期时间必须晚于当前时间。")
        if expire_time is not None and expire_time >= services.VIP_EXPIRY_LIMIT:
            raise forms.ValidationError("到期时间不能晚于2099-12-31。")
        return expire_time

    def clean(self):
        data = super().clean()
        if "expire_time" in self.errors:
            return data
        if bool(data.get("days")) == bool(data.get("expire_time")):
            raise forms.ValidationError("请选择一个套餐，或填写到期时间（二选一）。")
        return data


class RevokeVipForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=200, widget=AdminTextInputWidget)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    list_display = ["username", "email", "vip", "vip_until", "last_login", "is_staff"]
    list_display_links = ["username"]
    list_filter = [VipStateFilter, "is_staff", "is_superuser", "user_status"]
    search_fields = ["username", "email", "phone"]  # see get_search_results
    search_help_text = "用户名、邮箱或手机号：完全匹配的用户；没有时，以它开头的用户"
    ordering = ["-id"]
    list_per_page = 50
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice: a scan of every user
    readonly_fields = [
        "is_vip",
        "vip_expire_time",
        "last_login",
        "register_time",
        "create_time",
        "update_time",
    ]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("个人信息", {"fields": ["email", "phone", "avatar", "user_status"]}),
        ("VIP（用列表页的操作修改）", {"fields": ["is_vip", "vip_expire_time"]}),
        ("权限", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("时间", {"fields": ["last_login", "register_time", "create_time", "update_time"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "password1", "password2"]})
    ]
    inlines = [VipLedgerInline]
    actions = ["grant_vip", "revoke_vip", "disable_users"]

    class Media:
        css = {"all": ["vip/admin.css"]}

    change_form_template = "admin/users/user/change_form.html"

    def get_deleted_objects(self, objs, request):
        """What blocks a delete, said as staff can act on it: a user with orders cannot be
        deleted (the payments are kept, and nobody may delete an order), and the way out is
        the 「禁用」 action. Django would say the account lacks the right to delete orders, to a
        superuser too."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        orders = apps.get_model("payments", "VipOrder").objects
        users = [obj for obj in objs if isinstance(obj, User)]
        counted = dict(
            orders.filter(user__in=users)
            .values_list("user_id")
            .annotate(n=Count("id"))
            .values_list("user_id", "n")
        )
        if counted:
            order_model = orders.model._meta.verbose_name
            perms_needed = {p for p in perms_needed if p != order_model}
            protected = [
                format_html(
                    '<a href="{}">{}</a>：有 {} 个订单（付款记录要保留，订单不能删除）'
                    "——请改用用户列表的「禁用所选账户」操作，账户停用，订单和VIP记录保留。",
                    changelist_url("payments_viporder", user__id__exact=user.pk),
                    user.username,
                    counted[user.pk],
                )
                for user in users
                if user.pk in counted
            ]
        return deleted, counts, perms_needed, protected

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The member's page: below the account and the VIP changes, their latest orders and
        emails, each linked, and links to all of them."""
        user = self.get_object(request, object_id)
        if user is not None:
            orders = apps.get_model("payments", "VipOrder").objects.filter(user_id=user.pk)
            extra_context = {
                **(extra_context or {}),
                "member_orders": list(orders.order_by("-create_time", "-id")[:MEMBER_ROWS]),
                "member_emails": selectors.emails_about(user_id=user.pk, limit=MEMBER_ROWS),
                "member_rows": MEMBER_ROWS,
                "all_orders": changelist_url("payments_viporder", user__id__exact=user.pk),
                "all_emails": changelist_url("users_memberemail", user__id__exact=user.pk),
                "all_changes": changelist_url("users_vipledgerentry", user__id__exact=user.pk),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        """The users the term names exactly (by username, email or phone; each an index),
        alone, so that 「全选」 then an action reaches only them; when none, those whose
        username, email or phone starts with it. A substring would scan every user."""
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = queryset.filter(Q(username=term) | Q(email=term) | Q(phone=term))
        if exact.exists():
            return exact, False
        return queryset.filter(
            Q(username__istartswith=term) | Q(email__istartswith=term) | Q(phone__startswith=term)
        ), False

    @admin.display(description="VIP", boolean=True)
    def vip(self, user: User) -> bool:
        return user.vip_active()

    @admin.display(description="VIP到期时间", ordering="vip_expire_time")
    def vip_until(self, user: User) -> str:
        if user.vip_without_end:
            return "长期（无到期时间）"
        return to_minute(user.vip_expire_time) if user.vip_expire_time else "-"

    def _vip_action(self, request, queryset, *, form_class, title: str, after, apply):
        """An action in three steps: the form (admin layout, errors shown with the input
        kept); a confirmation listing each user's expiry before → after, any that shortens
        marked; then `apply(user, data)` per user, which answers None when nothing changed."""
        form = form_class(request.POST if "apply" in request.POST else None)
        users = list(queryset.order_by("username"))
        if form.is_valid() and "confirm" in request.POST:
            changed = []
            for user in users:
                try:
                    entry = apply(user, form.cleaned_data)
                except DomainError as exc:
                    self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
                    continue
                if entry is not None:
                    changed.append(user)
                    self.log_change(
                        request,
                        user,
                        f"{title}：{to_minute(entry.expire_before)} → "
                        f"{to_minute(entry.expire_after)}（{form.cleaned_data['reason']}）",
                    )
            if changed:
                self.message_user(
                    request, f"{title}：已变更 {len(changed)} 个用户。", messages.SUCCESS
                )
            if len(changed) < len(users):
                self.message_user(
                    request,
                    f"{title}：{len(users) - len(changed)} 个用户没有变化（已是该状态），未记录。",
                    messages.WARNING,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "action": request.POST["action"],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "users": users,
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
            "media": self.media + form.media,
        }
        if form.is_valid():
            now = timezone.now()
            context["preview"] = [
                (user, user.vip_expire_time, new, _shortens(user, new, now))
                for user in users
                for new in [after(user, form.cleaned_data, now)]
            ]
        return TemplateResponse(request, "admin/users/vip_action.html", context)

    @admin.action(description="开通/延长VIP", permissions=["change"])
    def grant_vip(self, request, queryset):
        def after(user, data, now):
            if data["days"]:
                return services.extended_expiry(user, days=data["days"], now=now)
            return data["expire_time"]

        def apply(user, data):
            if data["days"]:
                return services.vip_extend(
                    user_id=user.pk, days=data["days"], actor=request.user, reason=data["reason"]
                )
            return services.vip_set(
                user_id=user.pk,
                expire_time=data["expire_time"],
                actor=request.user,
                reason=data["reason"],
            )

        return self._vip_action(
            request,
            queryset,
            form_class=GrantVipForm,
            title="开通/延长VIP",
            after=after,
            apply=apply,
        )

    @admin.action(description="禁用所选账户（保留订单和VIP记录）", permissions=["change"])
    def disable_users(self, request, queryset):
        disabled = 0
        for user in queryset.order_by("username"):
            try:
                changed = services.user_disable(user_id=user.pk, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
                continue
            if changed:
                disabled += 1
                self.log_change(request, user, "禁用账户")
        if disabled:
            self.message_user(request, f"已禁用 {disabled} 个账户。", messages.SUCCESS)
        else:
            self.message_user(request, "所选账户都已是禁用状态，或不能禁用。", messages.WARNING)

    @admin.action(description="取消VIP", permissions=["change"])
    def revoke_vip(self, request, queryset):
        def apply(user, data):
            return services.vip_revoke(user_id=user.pk, actor=request.user, reason=data["reason"])

        return self._vip_action(
            request,
            queryset,
            form_class=RevokeVipForm,
            title="取消VIP",
            after=lambda user, data, now: None,
            apply=apply,
        )


MEMBER_ROWS = 20
CHANGE_KINDS = dict(VipChangeKind.choices)
EMAIL_KINDS = dict(MemberEmailKind.choices)


def _shortens(user: User, new, now) -> bool:
    """Whether the change ends a membership in force earlier than it would have ended."""
    if not user.vip_active(now=now):
        return False
    if user.vip_expire_time is None:  # a membership without an end: any end shortens it
        return True
    return new is None or new < user.vip_expire_time


class ActorFilter(admin.SimpleListFilter):
    title = "操作人"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        return [("staff", "管理员"), ("system", "系统（支付网关、定时任务）")]

    def queryset(self, request, queryset):
        if self.value() == "staff":
            return queryset.filter(actor__isnull=False)
        if self.value() == "system":
            return queryset.filter(actor__isnull=True)
        return queryset


@admin.register(VipLedgerEntry)
class VipLedgerEntryAdmin(CsvExportAdmin, BigListAdmin, admin.ModelAdmin):
    list_display = ["created_at", "user_link", "kind", "order_link", "change", "actor", "reason"]
    list_filter = ["kind", ActorFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user__username"]  # see get_search_results
    search_help_text = "准确的用户名或订单号"
    export_date_field = "created_at"
    export_fields = [
        "created_at", "user_id", "user__username", "kind", "order__order_number",
        "expire_before", "expire_after", "actor__username", "reason",
    ]  # fmt: skip
    export_columns = [
        ("时间", itemgetter("created_at")),
        ("用户ID", itemgetter("user_id")),
        ("用户名", lambda e: e["user__username"] or "（已删除）"),
        ("类型", lambda e: CHANGE_KINDS.get(e["kind"], e["kind"])),
        ("订单号", itemgetter("order__order_number")),
        ("原到期时间", itemgetter("expire_before")),
        ("新到期时间", itemgetter("expire_after")),
        ("操作人", lambda e: e["actor__username"] or "系统"),
        ("原因", itemgetter("reason")),
    ]
    sortable_by = ["created_at"]  # by user: MariaDB would sort every row through a join
    # As the order list: related rows in their own queries (a join makes MariaDB sort the
    # whole table before the LIMIT), a count that stops at 10,000. An empty tuple, not False:
    # with False Django joins every foreign key shown in the list.
    list_select_related = ()

    class Media:
        css = {"all": ["vip/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user", "order", "actor")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        user = User.objects.filter(username=term).values_list("pk", flat=True).first()
        if user is not None:
            return queryset.filter(user_id=user), False
        # The order's id first: MariaDB refuses a LIMIT inside an IN subquery (error 1235).
        order = (
            apps.get_model("payments", "VipOrder")
            .objects.filter(order_number=term)
            .values_list("pk", flat=True)
            .first()
        )
        return (queryset.filter(order_id=order) if order else queryset.none()), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="用户", ordering="user__username")
    def user_link(self, entry: VipLedgerEntry):
        if entry.user_id is None:
            return "（已删除）"
        url = reverse("admin:users_user_change", args=[entry.user_id])
        return format_html('<a href="{}">{}</a>', url, entry.user.username)

    @admin.display(description="订单")
    def order_link(self, entry: VipLedgerEntry):
        if entry.order_id is None:
            return "-"
        url = reverse("admin:payments_viporder_change", args=[entry.order_id])
        return format_html('<a href="{}">{}</a>', url, entry.order.order_number)

    @admin.display(description="到期时间变化")
    def change(self, entry: VipLedgerEntry) -> str:
        return f"{to_minute(entry.expire_before)} → {to_minute(entry.expire_after)}"


@admin.register(MemberEmail)
class MemberEmailAdmin(CsvExportAdmin, BigListAdmin, admin.ModelAdmin):
    """What the members were sent (by `users.notices`); a record, not to be edited."""

    list_display = ["sent_at", "kind", "user_link", "to", "reference_link"]
    list_filter = ["kind", ("sent_at", admin.DateFieldListFilter)]
    search_fields = ["=to", "=reference"]
    search_help_text = "准确的邮箱或订单号"
    export_date_field = "sent_at"
    export_fields = ["sent_at", "kind", "user_id", "to", "reference"]
    export_columns = [
        ("发送时间", itemgetter("sent_at")),
        ("类型", lambda m: EMAIL_KINDS.get(m["kind"], m["kind"])),
        ("用户ID", itemgetter("user_id")),
        ("收件人", itemgetter("to")),
        ("关联", itemgetter("reference")),
    ]
    sortable_by = ["sent_at"]
    list_select_related = ()  # the users in a second query, as the order list's

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user")

    @admin.display(description="用户")
    def user_link(self, email: MemberEmail):
        url = reverse("admin:users_user_change", args=[email.user_id])
        return format_html('<a href="{}">{}</a>', url, email.user.username if email.user else "-")

    @admin.display(description="关联")
    def reference_link(self, email: MemberEmail):
        if email.kind != MemberEmailKind.RECEIPT:
            return email.reference
        return format_html(
            '<a href="{}">{}</a>',
            changelist_url("payments_viporder", q=email.reference),
            email.reference,
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
