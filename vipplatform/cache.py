"""Django's Redis cache backend, with one redis client per connection pool and read-ahead.

Django builds a new `redis.Redis` for every cache call. With redis-py 8 that costs about
0.2 ms (the client builds its table of response callbacks each time), more than the round trip
to Redis itself, so one client per pool is kept: a client holds no connection of its own (its
pool does) and is safe to share between threads.

Read-ahead: a status poll reads three entries one after another (the session, its user, the
order), and each round trip to Redis costs about as much as the rest of the request. A
middleware (`vipplatform.middleware.CacheReadAheadMiddleware`) names the entries a request will
read before its view runs; `read_ahead` fetches them with one MGET, and the first `get` of each
answers from that. It is an earlier read, not a copy kept for later: it lasts one request,
each entry is used once, and a write of the entry in the meantime discards it.
"""

import logging

from django.core.cache.backends import redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_ABSENT = object()


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class RedisCache(redis.RedisCache):
    """Set by the settings in place of `django.core.cache.backends.redis.RedisCache`.

    Django keeps one instance per thread (per context under ASGI), so what it has read ahead
    belongs to the request that thread is serving.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._ahead = {}

    def read_ahead(self, keys) -> None:
        """Fetch `keys` now, in one round trip, for this request's first `get` of each. If
        Redis does not answer, nothing is read ahead: each reader meets the error (or, like the
        session store, its fallback) as it would without read-ahead."""
        try:
            found = self.get_many(keys)
        except RedisError as exc:
            logger.warning("cache read-ahead failed: %s", exc)
            return
        self._ahead = {key: found.get(key, _ABSENT) for key in keys}

    def end_read_ahead(self) -> None:
        self._ahead = {}

    def get(self, key, default=None, version=None):
        if version is None and key in self._ahead:
            value = self._ahead.pop(key)
            return default if value is _ABSENT else value
        return super().get(key, default, version)

    def _forget(self, keys) -> None:
        if self._ahead:
            for key in keys:
                self._ahead.pop(key, None)

    def set(self, key, value, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget([key])
        return super().set(key, value, timeout, version)

    def add(self, key, value, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget([key])
        return super().add(key, value, timeout, version)

    def touch(self, key, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget([key])
        return super().touch(key, timeout, version)

    def delete(self, key, version=None):
        self._forget([key])
        return super().delete(key, version)

    def incr(self, key, delta=1, version=None):
        self._forget([key])
        return super().incr(key, delta, version)

    def set_many(self, data, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget(data)
        return super().set_many(data, timeout, version)

    def delete_many(self, keys, version=None):
        keys = list(keys)
        self._forget(keys)
        return super().delete_many(keys, version)

    def clear(self):
        self.end_read_ahead()
        return super().clear()
