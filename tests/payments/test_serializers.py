"""Output serializers that write their answer by hand answer as their declared fields would."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from payments import status_cache
from payments.models import OrderStatus
from payments.serializers import OrderStatusOutput
from tests.factories import VipOrderFactory

pytestmark = pytest.mark.django_db


def by_fields(serializer_class, instance) -> dict:
    """What DRF's field-by-field path writes for `instance`."""
    return serializers.Serializer.to_representation(serializer_class(), instance)


@pytest.mark.parametrize(
    ("status", "overdue"),
    [
        (OrderStatus.PENDING, False),
        (OrderStatus.PENDING, True),
        (OrderStatus.PAID, False),
        (OrderStatus.CANCELLED, False),
        (OrderStatus.EXPIRED, True),
    ],
)
@pytest.mark.parametrize("plan_id", [1, 3])
def test_the_status_poll_answers_as_its_fields_would(plans, status, overdue, plan_id):
    order = VipOrderFactory(plan=plans[plan_id], status=status)
    if overdue:
        order.expire_time = timezone.now() - timedelta(seconds=1)
        order.save()
    # the row, and the cached view
    for source in (order, status_cache.order_status(order.order_number)):
        written = OrderStatusOutput(source).data
        assert written == by_fields(OrderStatusOutput, source)
        assert JSONRenderer().render(written) == JSONRenderer().render(
            by_fields(OrderStatusOutput, source)
        )
