from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from payments.models import OrderStatus, PaymentMethod, VipOrder, VipPlan, new_order_number
from users.models import User

PASSWORD = "Tr0ub4dor&3"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


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
