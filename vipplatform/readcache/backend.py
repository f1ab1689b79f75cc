"""Django's Redis cache backend, failing safe, with one redis client per connection pool and
read-ahead.

The cache may fail; the platform may not. When Redis does not answer (down, or slower than the
socket timeout in the settings), every operation answers as a miss or a failed write instead of
raising: reads fall back to the database, writes and payments commit, sessions (`cached_db`)
are read from and written to the database, and throttles, which keep their counts here, fail
open (a Redis outage must not lock every user out; the counts start again when it is back).
The failure is logged once a minute, not per request.

A circuit breaker keeps a Redis that hangs from slowing every request: after a failure the
process stops calling Redis for `CACHE_CIRCUIT_SECONDS` (1 s; every operation answers at once
as a miss), then lets one call probe it with a brief PING (0.1 s at most; the others still
answer at once). So a hung Redis costs a process one short wait per period, not one per
request. A write that failed may have left an entry stale (a session logged out, an order paid
meanwhile), so when the PING answers the probe empties the cache: only then is "cache answers
again" logged (once) and the cache used again. (A process that never saw the outage keeps using
Redis meanwhile, and may read an entry the outage left stale until a process that saw it
empties the cache: about one period.)
The cache's Redis database must be the platform's own.

Django builds a new `redis.Redis` for every cache call, which with redis-py 8 costs more than
the round trip to Redis itself (the client builds its table of response callbacks each time),
so one client per pool is kept: a client holds no connection of its own (its
pool does) and is safe to share between threads.

Read-ahead: a status poll reads three entries one after another (the session, its user, the
order), and each round trip to Redis costs about as much as the rest of the request. A
middleware (`readcache.middleware.ReadAheadMiddleware`) names the entries a request will
read before its view runs; `read_ahead` fetches them with one MGET, and the first `get` of each
answers from that. It is an earlier read, not a copy kept for later: it lasts one request,
each entry is used once, and a write of the entry in the meantime discards it.
"""

import logging
import threading
import time
from functools import wraps

from django.conf import settings
from django.core.cache.backends import redis
from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_ABSENT = object()
LOG_INTERVAL_SECONDS = 60
# The PING of the circuit's probe and of the readiness probe gives up sooner than the cache's
# calls: a hung Redis costs a probe 0.1 s, and /readyz answers in well under half a second.
BRIEF_TIMEOUT_SECONDS = 0.1


class _Health:
    """What this process knows of Redis: failing since when, the circuit (open until when,
    one call trying it), and whether to empty it on recovery. Shared by the threads of a
    process (Django keeps a cache instance per thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failing_since: float | None = None
        self.open_until = 0.0
        self.probing = False
        self.last_logged = 0.0
        self.suppressed = 0

    def allow(self) -> str:
        """What the next operation may do: "call" (healthy), "probe" (the one call that tries
        a failing Redis, emptying it first) or "skip" (the circuit is open: answer at once)."""
        with self.lock:
            if self.failing_since is None:
                return "call"
            if self.probing or time.monotonic() < self.open_until:
                self.suppressed += 1
                return "skip"
            self.probing = True
            return "probe"

    def probe_ended(self) -> None:
        with self.lock:
            self.probing = False

    def recovered(self) -> None:
        with self.lock:
            self.failing_since, self.probing = None, False
        logger.warning("cache answers again: emptied it of entries that may be stale")

    def failed(self, exc: Exception) -> None:
        with self.lock:
            now = time.monotonic()
            if self.failing_since is None:
                self.failing_since = now
            self.open_until = now + settings.CACHE_CIRCUIT_SECONDS
            self.probing = False
            if now - self.last_logged >= LOG_INTERVAL_SECONDS:
                logger.warning(
                    "cache unavailable, serving from the database (%s calls answered without "
                    "it since the last report): %s",
                    self.suppressed,
                    exc,
                )
                self.last_logged, self.suppressed = now, 0
            else:
                self.suppressed += 1

    def unavailable(self) -> bool:
        """Whether the circuit is open now (the readiness probe does not wait on Redis)."""
        return self.failing_since is not None and time.monotonic() < self.open_until


health = _Health()


def _fail_safe(answer_on_failure):
    """Run the cache operation through the circuit; on a Redis error, or while the circuit is
    open, answer `answer_on_failure(args)` instead."""

    def decorate(method):
        @wraps(method)
        def guarded(self, *args, **kwargs):
            allowed = health.allow()
            if allowed == "skip":
                return answer_on_failure(*args, **kwargs)
            try:
                if allowed == "probe":
                    try:
                        self.ping_briefly()  # a hung Redis costs the probe 0.1 s at most
                        super(RedisCache, self).clear()  # nothing stale after an outage
                    except RedisError:
                        raise
                    except BaseException:
                        health.probe_ended()
                        raise
                    health.recovered()
                return method(self, *args, **kwargs)
            except RedisError as exc:
                health.failed(exc)
                return answer_on_failure(*args, **kwargs)

        return guarded

    return decorate


def _miss(key, default=None, *args, **kwargs):
    return default


def _nothing(*args, **kwargs):
    return None


def _no(*args, **kwargs):
    return False


def _empty(*args, **kwargs):
    return {}


def _all_failed(data, *args, **kwargs):
    return list(data)


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
        self._brief = None

    def available(self) -> bool:
        """Whether Redis answers now (for the readiness probe): no while the circuit is open,
        without waiting on it; else a brief PING."""
        if health.unavailable():
            return False
        try:
            return self.ping_briefly()
        except RedisError as exc:
            health.failed(exc)
            return False

    def ping_briefly(self) -> bool:
        """PING on a client of its own that waits at most `BRIEF_TIMEOUT_SECONDS`: the circuit's
        probe and the readiness probe ask this before anything slower."""
        if self._brief is None:
            self._brief = Redis.from_url(
                self._servers[0],
                socket_timeout=BRIEF_TIMEOUT_SECONDS,
                socket_connect_timeout=BRIEF_TIMEOUT_SECONDS,
            )
        return bool(self._brief.ping())

    def read_ahead(self, keys) -> None:
        """Fetch `keys` now, in one round trip, for this request's first `get` of each. If
        Redis does not answer, nothing is read ahead."""
        if health.failing_since is not None:
            return  # each reader takes its own path, to the database
        found = self.get_many(keys)
        self._ahead = {key: found.get(key, _ABSENT) for key in keys}

    def end_read_ahead(self) -> None:
        self._ahead = {}

    @_fail_safe(_miss)
    def get(self, key, default=None, version=None):
        if version is None and key in self._ahead:
            value = self._ahead.pop(key)
            return default if value is _ABSENT else value
        return super().get(key, default, version)

    def _forget(self, keys) -> None:
        if self._ahead:
            for key in keys:
                self._ahead.pop(key, None)

    @_fail_safe(_no)
    def set(self, key, value, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget([key])
        return super().set(key, value, timeout, version)

    @_fail_safe(_no)
    def add(self, key, value, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget([key])
        return super().add(key, value, timeout, version)

    @_fail_safe(_no)
    def touch(self, key, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget([key])
        return super().touch(key, timeout, version)

    @_fail_safe(_no)
    def delete(self, key, version=None):
        self._forget([key])
        return super().delete(key, version)

    def incr(self, key, delta=1, version=None):
        self._forget([key])
        return super().incr(key, delta, version)

    @_fail_safe(_all_failed)
    def set_many(self, data, timeout=redis.DEFAULT_TIMEOUT, version=None):
        self._forget(data)
        return super().set_many(data, timeout, version)

    @_fail_safe(_nothing)
    def delete_many(self, keys, version=None):
        keys = list(keys)
        self._forget(keys)
        return super().delete_many(keys, version)

    @_fail_safe(_no)
    def clear(self):
        self.end_read_ahead()
        return super().clear()

    @_fail_safe(_empty)
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_fail_safe(_no)
    def has_key(self, key, version=None):
        return super().has_key(key, version)
