"""What the site's other programs write to `user` and `vip_order` with their own SQL, statement
for statement as `shared/legacy/README.md` lists them ("What the other programs write"): the old
user service's insert (plain-text password), a hand-written insert relying on the columns'
defaults, the old payment service's order, its VIP grant and cancel, a delete, the counts the
others read."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Written:
    java_user: int
    hand_user: int
    order: int
    order_number: str
    vip_count: int


def write(connection, tag: str) -> Written:
    """Run the statements once; `tag` (two hex digits) keeps names and numbers apart."""
    cursor = connection.cursor()
    # the old user service registering a user (Hibernate names every column its entity maps;
    # the password is plain text, as it stored them)
    cursor.execute(
        "INSERT INTO user (avatar, create_time, email, is_vip, last_login_time, password, "
        "phone, register_time, update_time, user_status, username, vip_expire_time) "
        "VALUES ('default_avatar.jpg', NOW(), %s, 0, NULL, %s, NULL, NOW(), NOW(), 1, %s, NULL)",
        [f"java{tag}@example.com", f"java-plain-{tag}", f"java{tag}"],
    )
    java_user = cursor.lastrowid
    # a hand-written insert relying on the columns' defaults
    cursor.execute(
        "INSERT INTO user (username, password, email, is_vip, user_status) "
        "VALUES (%s, %s, %s, 0, 1)",
        [f"hand{tag}", f"hand-pass-{tag}", f"hand{tag}@example.com"],
    )
    hand_user = cursor.lastrowid
    # the old payment service creating an order
    order_number = f"abcdef0123456{tag}f"[:16]
    cursor.execute(
        "INSERT INTO vip_order (user_id, order_number, vip_type, amount, payment_method, status, "
        "create_time, pay_time, expire_time, qr_code_url) "
        "VALUES (%s, %s, 1, 29.90, 0, 0, NOW(), NULL, NOW() + INTERVAL 30 MINUTE, "
        "'https://example.com/q')",
        [java_user, order_number],
    )
    order = cursor.lastrowid
    # the old payment service granting and cancelling VIP (JPQL, as SQL)
    later = datetime.now().replace(microsecond=0) + timedelta(days=30)
    cursor.execute(
        "UPDATE user SET is_vip = 1, vip_expire_time = %s, update_time = %s WHERE id = %s",
        [later, datetime.now(), java_user],
    )
    cursor.execute(
        "UPDATE user SET is_vip = 0, vip_expire_time = NULL, update_time = %s WHERE id = %s",
        [datetime.now(), hand_user],
    )
    return Written(java_user, hand_user, order, order_number, vip_count(connection))


def vip_count(connection) -> int:
    """The statistics service's count."""
    cursor = connection.cursor()
    cursor.execute("SELECT COUNT(*) FROM user WHERE is_vip = 1")
    return cursor.fetchone()[0]


def delete_user(connection, user_id: int) -> None:
    """Any service deleting a user: the site's eight foreign keys to user cascade."""
    connection.cursor().execute("DELETE FROM user WHERE id = %s", [user_id])
