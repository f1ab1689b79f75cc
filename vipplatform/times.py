"""Times as the site reads them (its zone, `TIME_ZONE`)."""

from datetime import date, datetime, time

from django.utils import timezone


def day_start(day: date) -> datetime:
    """Midnight at the start of `day`, site time."""
    return timezone.make_aware(datetime.combine(day, time.min))


def to_minute(moment: datetime | None, *, none: str = "无") -> str:
    """`moment` to the minute, site time, as staff read it."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else none
