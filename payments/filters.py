"""The staff order search's filters (django-filter), read from the JSON body."""

import django_filters
from django import forms

from . import selectors
from .models import OrderStatus, PaymentMethod, VipOrder


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)


class OrderSearchFilter(django_filters.FilterSet):
    userId = IdFilter(field_name="user_id")
    orderNumber = django_filters.CharFilter(field_name="order_number", lookup_expr="contains")
    vipType = IdFilter(field_name="plan_id")
    paymentMethod = django_filters.TypedChoiceFilter(
        field_name="payment_method", choices=PaymentMethod.choices, coerce=int
    )
    status = django_filters.TypedChoiceFilter(
        choices=OrderStatus.choices, coerce=int, method="filter_status"
    )
    startTime = django_filters.IsoDateTimeFilter(field_name="create_time", lookup_expr="gte")
    endTime = django_filters.IsoDateTimeFilter(field_name="create_time", lookup_expr="lte")

    class Meta:
        model = VipOrder
        fields = []

    def filter_status(self, queryset, name, value):
        return selectors.orders_with_status(queryset, value)
