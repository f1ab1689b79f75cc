"""Input fields shared by the API's serializers: times within the range the platform keeps, and
text no longer than the column it goes to."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from rest_framework import serializers

# Every time the API takes in lies in [EARLIEST, LATEST): the site's data begins after 1970,
# and a membership may run until the end of 2099 (`users.services.VIP_EXPIRY_LIMIT`). Outside,
# a time is refused as input (400), before it reaches a calculation or a database column that
# cannot hold it (year 1 in UTC+8 is year 0 in UTC; year 9999 plus a plan overflows).
SITE_ZONE = ZoneInfo(settings.TIME_ZONE)
EARLIEST = datetime(1970, 1, 1, tzinfo=SITE_ZONE)
LATEST = datetime(2100, 1, 1, tzinfo=SITE_ZONE)


class BoundedDateTimeField(serializers.DateTimeField):
    """A DRF date-time between `EARLIEST` and `LATEST` (exclusive), else a 400 that says so."""

    default_error_messages = {
        "out_of_range": "时间必须在1970-01-01到2099-12-31之间",
        "invalid": "时间格式不正确，应为 ISO 8601，例如 2026-01-01T00:00:00",
        "overflow": "时间必须在1970-01-01到2099-12-31之间",
        "make_aware": "该时间在站点时区中不存在",
    }

    def to_internal_value(self, value):
        try:
            moment = super().to_internal_value(value)
        except OverflowError:
            self.fail("out_of_range")
        if not EARLIEST <= moment < LATEST:
            self.fail("out_of_range")
        return moment


def column_length(model, field_name: str) -> int:
    """The length of a model's character column, for an input field that writes to it."""
    return model._meta.get_field(field_name).max_length
