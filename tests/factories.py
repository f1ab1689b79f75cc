from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from factory.django import DjangoModelFactory

from payments.models import OrderStatus, PaymentMethod, VipOrder, VipPlan, new_order_number
from users.models import User
from vipplatform import permissions

ALL_STAFF_RIGHTS = sorted(
    {
        *permissions.VIEW_USERS,
        *permissions.CHANGE_MEMBERSHIPS,
        *permissions.DELETE_USERS,
        *permissions.VIEW_ORDERS,
        *permissions.CHANGE_ORDERS,
        *permissions.CREATE_ORDERS,
        *permissions.REFUND_ORDERS,
    }
)

PASSWORD = "Tr0ub4dor&3"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


def grant_rights(user: User, permissions, *, group_name: str = "运营") -> None:
    """Give `user` permissions ("app.codename") as the admin does: through a group."""
    group, _ = Group.objects.get_or_create(name=group_name)
    for permission in permissions:
        app_label, codename = permission.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    user.groups.add(group)


class StaffFactory(UserFactory):
    """Staff holding every right of the platform's staff paths (through a group, as the admin
    grants them); `StaffFactory(rights=[...])` for fewer, `rights=()` for none."""

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True

    @factory.post_generation
    def rights(user, create, extracted, **kwargs):
        if not create:
            return
        rights = ALL_STAFF_RIGHTS if extracted is None else extracted
        if rights:
            grant_rights(user, rights, group_name="运营" if extracted is None else "+".join(rights))


class VipPlanFactory(DjangoModelFactory):
    """The three plans the migration seeds; get_or_create keeps them after a flush."""

    class Meta:
        model = VipPlan
        django_get_or_create = ("id",)

    id = 1
    name = factory.LazyAttribute(
        lambda plan: {1: "月度会员", 2: "季度会员", 3: "年度会员"}[plan.id]
    )
    days = factory.LazyAttribute(lambda plan: {1: 30, 2: 90, 3: 365}[plan.id])
    price = factory.LazyAttribute(
        lambda plan: Decimal({1: "29.90", 2: "88.00", 3: "328.00"}[plan.id])
    )


class VipOrderFactory(DjangoModelFactory):
    class Meta:
        model = VipOrder

    user = factory.SubFactory(UserFactory)
    order_number = factory.LazyFunction(new_order_number)
    plan = factory.SubFactory(VipPlanFactory)
    plan_name = factory.LazyAttribute(lambda order: order.plan.name)
    plan_days = factory.LazyAttribute(lambda order: order.plan.days)
    amount = factory.LazyAttribute(lambda order: order.plan.price)
    payment_method = PaymentMethod.WECHAT
    status = OrderStatus.PENDING
    create_time = factory.LazyFunction(timezone.now)
    expire_time = factory.LazyAttribute(lambda order: order.create_time + timedelta(minutes=30))
    qr_code_url = factory.LazyAttribute(
        lambda order: f"http://testserver/api/payment/qrcode/{order.order_number}.svg"
    )
