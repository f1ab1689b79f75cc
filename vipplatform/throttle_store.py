"""Where throttle counts live without a shared cache: the database, read and written by every
process and host (`settings.CACHES["throttle"]`).

Django's database cache, but each `set` is one statement (an upsert) instead of Django's four
(count the table for culling, look the key up, then update or insert): a throttle writes on
every request it counts. Expired counts are deleted by the hourly job
(`vipplatform.tasks.prune_throttle_counts`) instead of by culling on writes.
"""

import base64
import pickle
from datetime import UTC, datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils import timezone


class DatabaseCounts(DatabaseCache):
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        from .models import ThrottleCount

        key = self.make_and_validate_key(key, version=version)
        backend_timeout = self.get_backend_timeout(timeout)
        expires = (
            datetime.max.replace(tzinfo=UTC)
            if backend_timeout is None
            else datetime.fromtimestamp(backend_timeout, tz=UTC)
        )
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        database = router.db_for_write(ThrottleCount)
        options = {}
        if connections[database].features.supports_update_conflicts_with_target:
            options["unique_fields"] = ["cache_key"]  # SQLite names it; MariaDB needs not
        ThrottleCount.objects.using(database).bulk_create(
            [ThrottleCount(cache_key=key, value=encoded, expires=expires)],
            update_conflicts=True,
            update_fields=["value", "expires"],
            **options,
        )


def prune_expired() -> int:
    """Delete the counts whose window has passed; answers how many."""
    from .models import ThrottleCount

    deleted, _ = ThrottleCount.objects.filter(expires__lt=timezone.now()).delete()
    return deleted
