"""Admin for users and the VIP ledger. VIP changes go through `users.services` only, so each
one is in the ledger with the admin who made it."""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone

from vipplatform.exceptions import DomainError

from . import services
from .models import User, VipLedgerEntry


class VipStateFilter(admin.SimpleListFilter):
    title = "VIP状态"
    parameter_name = "vip"

    def lookups(self, request, model_admin):
        return [("active", "有效"), ("expired", "已过期"), ("never", "无")]

    def queryset(self, request, queryset):
        now = timezone.now()
        active = Q(is_vip=True, vip_expire_time__gt=now)
        if self.value() == "active":
            return queryset.filter(active)
        if self.value() == "expired":
            return queryset.filter(vip_expire_time__isnull=False).exclude(active)
        if self.value() == "never":
            return queryset.filter(vip_expire_time__isnull=True)
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
    plans = apps.get_model("payments", "VipPlan").objects.filter(is_active=True)
    return [("", "——")] + [(plan.days, f"{plan.name}（{plan.days}天）") for plan in plans]


class GrantVipForm(forms.Form):
    days = forms.TypedChoiceField(label="按套餐延长", coerce=int, required=False, empty_value=None)
    expire_time = forms.DateTimeField(
        label="或设为到期时间",
        required=False,
        help_text="格式：2026-12-31 23:59:59（站点时区）",
    )
    reason = forms.CharField(label="原因", max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = _plan_choices()

    def clean(self):
        data = super().clean()
        if bool(data.get("days")) == bool(data.get("expire_time")):
            raise forms.ValidationError("请选择一个套餐，或填写到期时间（二选一）。")
        return data


class RevokeVipForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=200)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    list_display = ["username", "email", "vip", "vip_expire_time", "last_login", "is_staff"]
    list_filter = [VipStateFilter, "is_staff", "is_superuser", "user_status"]
    search_fields = ["username", "email", "phone"]
    ordering = ["-id"]
    list_per_page = 50
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
    actions = ["grant_vip", "revoke_vip"]

    @admin.display(description="VIP", boolean=True)
    def vip(self, user: User) -> bool:
        return user.vip_active()

    def _vip_action(self, request, queryset, *, form_class, title: str, apply):
        """An action with an intermediate form; `apply(user, form.cleaned_data)` per user."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for user in queryset:
                try:
                    apply(user, form.cleaned_data)
                    done += 1
                except DomainError as exc:
                    self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
            self.message_user(request, f"{title}：已处理 {done} 个用户。", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "users": queryset,
            "action": request.POST["action"],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/users/vip_action.html", context)

    @admin.action(description="开通/延长VIP", permissions=["change"])
    def grant_vip(self, request, queryset):
        def apply(user, data):
            if data["days"]:
                services.vip_extend(
                    user_id=user.pk, days=data["days"], actor=request.user, reason=data["reason"]
                )
            else:
                services.vip_set(
                    user_id=user.pk,
                    expire_time=data["expire_time"],
                    actor=request.user,
                    reason=data["reason"],
                )

        return self._vip_action(
            request, queryset, form_class=GrantVipForm, title="开通/延长VIP", apply=apply
        )

    @admin.action(description="取消VIP", permissions=["change"])
    def revoke_vip(self, request, queryset):
        def apply(user, data):
            services.vip_revoke(user_id=user.pk, actor=request.user, reason=data["reason"])

        return self._vip_action(
            request, queryset, form_class=RevokeVipForm, title="取消VIP", apply=apply
        )


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
class VipLedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "user",
        "kind",
        "order",
        "expire_before",
        "expire_after",
        "actor",
        "reason",
    ]
    list_filter = ["kind", ActorFilter]
    search_fields = ["user__username", "order__order_number"]
    list_select_related = ["user", "order", "actor"]
    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
