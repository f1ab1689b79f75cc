"""The cache's keys, in one place."""

TTL_SECONDS = 300


def order_key(order_number: str) -> str:
    return f"order-status:v1:{order_number}"


def user_key(user_id) -> str:
    return f"user:v1:{user_id}"
