"""The read cache: the one seam for the speed work (docs/design.md).

With `READ_CACHE` on (a shared Redis in `CACHE_URL`), the two hottest reads skip the database:
the status poll's order (`payments.status_cache`) and the session's user; sessions live in the
cache too (`cached_db`), and a middleware fetches what a request will read in one round trip.
The users app announces changes here:

- `user_changed(user)` / `users_changed(ids)`: call inside the transaction that changed them
  (holding the row lock); the cache is refreshed after commit;
- `cached_user(user_id, load=…)`: the session's user.

With it off, these are plain database reads and no-ops, and nothing else is on the request path.
The Redis backend fails safe (`backend.py`): a cache that is down is a miss, never an error.
"""

from .users import cached_user, user_changed, users_changed

__all__ = [
    "cached_user",
    "user_changed",
    "users_changed",
]
