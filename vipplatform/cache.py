"""Django's Redis cache backend, with one redis client per connection pool.

Django builds a new `redis.Redis` for every cache call. With redis-py 8 that costs about
0.2 ms (the client builds its table of response callbacks each time), more than the round trip
to Redis itself, and the session, user and order-status reads make three such calls per request.
A client holds no connection of its own (its pool does) and is safe to share between threads,
so one per pool is enough.
"""

from django.core.cache.backends import redis


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
    """Set by the settings in place of `django.core.cache.backends.redis.RedisCache`."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
