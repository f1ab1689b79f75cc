"""Taking over the movie site's database in place, as an operator would: the site's schema
loaded into MariaDB, rows added as the old services wrote them, then `manage.py migrate`.
Then the platform is served on that database and used as the old users would use it."""

import os
import re
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from ..helpers import requires_mariadb
from ..servers import ROOT, Browser, Gunicorn
from . import other_programs, sitedb

pytestmark = requires_mariadb

SHANGHAI = ZoneInfo("Asia/Shanghai")
# (id, username, password as typed, email, phone, is_vip, vip_expire_time, user_status)
OLD_USERS = [
    (1, "alice", "alice-pass-1", "alice@example.com", "13800000001", 1, "2099-12-31 23:59:59", 1),
    (2, "bob", "bob123456", "bob@example.com", None, 0, None, None),
    (3, "carol", "carol-pw", "carol@example.com", None, 1, "2020-01-01 08:00:00", 1),
    (5, "dave", "dave-admin", "dave@example.com", "13900000005", None, None, 1),
    (8, "erin", "erin-pass", "erin@example.com", None, 0, None, 0),
]
# Rows whose times the site never recorded (register, create and update time NULL); frank is a
# VIP of the old site without an expiry, which the movie service treats as VIP.
UNKNOWN_TIMES_USERS = [
    (9, "frank", "frank-pass", "frank@example.com", None, 1, None, 1),
]
# (id, user, number, vip_type, amount, method, status, created, paid, deadline, qr code)
OLD_ORDERS = [
    (1, 1, "1a2b3c4d5e6f7a8b", 3, "328.00", 0, 1, "2024-05-01 10:00:00", "2024-05-01 10:01:00",
     "2024-05-01 10:30:00", "http://old.example/qr/1"),
    (2, 2, "9f8e7d6c5b4a3f2e", 1, "29.90", 1, 0, "2024-06-01 12:00:00", None,
     "2024-06-01 12:30:00", "http://old.example/qr/2"),
    (3, 2, "00ff00ff00ff00ff", 2, "88.00", None, None, "2024-06-02 09:00:00", None, None, None),
    (6, 3, "abcdefabcdef0123", 1, "29.90", 0, 2, "2024-07-01 18:00:00", None,
     "2024-07-01 18:30:00", "http://old.example/qr/6"),
    # an ancient order the old service left without status or times
    (7, 3, "77777777deadbeef", 1, "29.90", 0, None, None, None, None, None),
]  # fmt: skip


def add_old_rows(connection) -> None:
    cursor = connection.cursor()
    cursor.executemany(
        "INSERT INTO `user` (id, username, password, email, phone, is_vip, vip_expire_time, "
        "user_status, register_time, create_time, update_time) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '2023-03-01 09:00:00', "
        "'2023-03-01 09:00:00', '2024-01-02 03:04:05')",
        OLD_USERS,
    )
    cursor.executemany(
        "INSERT INTO `user` (id, username, password, email, phone, is_vip, vip_expire_time, "
        "user_status, register_time, create_time, update_time) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, NULL)",
        UNKNOWN_TIMES_USERS,
    )
    cursor.executemany(
        "INSERT INTO vip_order (id, user_id, order_number, vip_type, amount, payment_method, "
        "status, create_time, pay_time, expire_time, qr_code_url) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        OLD_ORDERS,
    )
    sitedb.run_script(
        connection,
        "INSERT INTO movie (id, title) VALUES (1, '霸王别姬');"
        "INSERT INTO role (id, name, status) VALUES (1, 'ADMIN', 1);"
        "INSERT INTO user_role (user_id, role_id) VALUES (5, 1);"
        "INSERT INTO comment (user_id, movie_id, content) VALUES (1, 1, '好看');"
        "INSERT INTO feedback (user_id, content) VALUES (2, '希望多上新片');"
        "INSERT INTO vip_movie_view_count (user_id, movie_id, view_count) VALUES (1, 1, 3);"
        "INSERT INTO user_favorite (user_id, movie_id) VALUES (3, 1);",
    )


@pytest.fixture(scope="module")
def site():
    name = f"site_takeover_{os.getpid()}"
    connection = sitedb.create(name)
    add_old_rows(connection)
    # The other programs' statements on the site's schema, as they ran before the takeover.
    written_before = other_programs.write(connection, "b0")
    others = [t for t in sitedb.tables(connection) if t not in sitedb.TAKEN_OVER]
    before = SimpleNamespace(
        checksums=sitedb.checksums(connection, others),
        definitions={t: sitedb.show_create(connection, t) for t in sitedb.TAKEN_OVER},
        written=written_before,
        vip_count=other_programs.vip_count(connection),
        comments={t: column_comments(connection, t) for t in sitedb.TAKEN_OVER},
    )
    result, _seconds = sitedb.migrate(name)
    assert result.returncode == 0, result.stdout + result.stderr
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "takeover-tables.sql").write_text(
        "".join(
            f"-- {t} before\n{before.definitions[t]};\n\n"
            f"-- {t} after\n{sitedb.show_create(connection, t)};\n\n"
            for t in sitedb.TAKEN_OVER
        )
    )
    yield SimpleNamespace(
        name=name, db=connection, others=others, before=before, output=result.stdout
    )
    connection.close()
    sitedb.drop(name)


@pytest.fixture(scope="module")
def server(site):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENT_", "DJANGO_"))}
    env.update(
        DATABASE_URL=sitedb.url(site.name),
        DJANGO_DEBUG="true",
        PAYMENT_SANDBOX="true",
        PAYMENT_SANDBOX_DELIVERY="false",
        LOG_LEVEL="WARNING",
    )
    (ROOT / "artifacts").mkdir(exist_ok=True)
    gunicorn = Gunicorn(workers=1, env=env)
    yield gunicorn
    gunicorn.stop()


def column_comments(connection, table: str) -> dict[str, str]:
    return dict(
        sitedb.fetch(
            connection,
            "SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_COMMENT != ''",
            [table],
        )
    )


def defaults(connection, table: str) -> dict[str, tuple]:
    """Each column's database default and extra (ON UPDATE), as an insert relies on them."""
    return {
        name: (default, extra)
        for name, default, extra in sitedb.fetch(
            connection,
            "SELECT COLUMN_NAME, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            [table],
        )
    }


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


def test_migrate_takes_over_the_site_database_and_says_what_it_does(site):
    # the six old users, and the two the other programs wrote before the switch
    assert re.search(r"passwords hashed: 8/8 in [0-9.]+ s", site.output)


def test_every_row_and_id_of_the_two_tables_is_kept(site):
    users = sitedb.fetch(
        site.db, "SELECT id, username, email, phone FROM `user` WHERE id <= 9 ORDER BY id"
    )
    assert users == [(u[0], u[1], u[3], u[4]) for u in OLD_USERS + UNKNOWN_TIMES_USERS]
    orders = sitedb.fetch(
        site.db,
        "SELECT id, user_id, order_number, vip_type, amount FROM vip_order WHERE id <= 7 "
        "ORDER BY id",
    )
    assert [(o[0], o[1], o[2], o[3], str(o[4])) for o in orders] == [o[:5] for o in OLD_ORDERS]


def test_the_other_21_tables_are_untouched_and_their_keys_to_user_hold(site):
    assert len(site.others) == 21
    assert sitedb.checksums(site.db, site.others) == site.before.checksums
    for child in sitedb.USER_CHILDREN:
        orphans = sitedb.fetch(
            site.db,
            f"SELECT COUNT(*) FROM `{child}` c LEFT JOIN `user` u ON c.user_id = u.id "
            "WHERE u.id IS NULL",
        )
        assert orphans == [(0,)], child
    foreign_keys = sitedb.fetch(
        site.db,
        "SELECT TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = 'user' "
        "AND REFERENCED_COLUMN_NAME = 'id'",
    )
    assert set(sitedb.USER_CHILDREN) <= {row[0] for row in foreign_keys}


def test_the_columns_other_services_read_keep_their_meaning(site):
    user = sitedb.columns(site.db, "user")
    assert user["id"] == ("int(10) unsigned", "NO")
    assert user["is_vip"] == ("int(11)", "NO")
    assert user["vip_expire_time"][0].startswith("datetime")
    unique = sitedb.fetch(
        site.db,
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = 'user' AND NON_UNIQUE = 0",
    )
    assert {"id", "username", "email"} <= {row[0] for row in unique}
    # Wall-clock times as the other services wrote and read them, not moved to UTC.
    assert sitedb.fetch(site.db, "SELECT vip_expire_time FROM `user` WHERE id = 1") == [
        (datetime(2099, 12, 31, 23, 59, 59),)
    ]
    # NULLs the old service left are values the platform and `is_vip` readers understand.
    assert sitedb.fetch(
        site.db, "SELECT id, is_vip, user_status FROM `user` WHERE id <= 9 ORDER BY id"
    ) == [
        (1, 1, 1), (2, 0, 1), (3, 1, 1), (5, 0, 1), (8, 0, 0), (9, 1, 1),
    ]  # fmt: skip


def test_a_fresh_database_gets_the_same_columns(site):
    name = f"site_fresh_{os.getpid()}"
    fresh = sitedb.create(name, schema=False)
    try:
        result, _ = sitedb.migrate(name)
        assert result.returncode == 0, result.stderr
        for table in sitedb.TAKEN_OVER:
            assert sitedb.columns(fresh, table) == sitedb.columns(site.db, table), table
            assert defaults(fresh, table) == defaults(site.db, table), table
        # The site's programs may write a fresh database as well (no ERROR 1364).
        sitedb.run_script(
            fresh,
            "INSERT INTO vip_plan (id, name, days, price, is_active) "
            "SELECT 1, '月度会员', 30, 29.90, 1 FROM DUAL "
            "WHERE NOT EXISTS (SELECT 1 FROM vip_plan WHERE id = 1)",
        )
        written = other_programs.write(fresh, "f0")
        other_programs.delete_user(fresh, written.java_user)  # its order cascades
        assert sitedb.fetch(fresh, "SELECT COUNT(*) FROM vip_order") == [(0,)]
    finally:
        fresh.close()
        sitedb.drop(name)


def test_no_plain_text_password_survives(site):
    stored = dict(sitedb.fetch(site.db, "SELECT id, password FROM `user`"))
    for pk, _name, password, *_ in OLD_USERS + UNKNOWN_TIMES_USERS:
        assert stored[pk] != password
        assert stored[pk].startswith("pbkdf2_sha256$10000$")
        assert password not in stored[pk]


def test_old_users_log_in_with_their_old_password_through_the_api(site, server):
    browser = Browser(server.url)
    status, body = browser.api(
        "POST", "/api/users/login", {"username": "alice", "password": "alice-pass-1"}
    )
    assert (status, body["code"]) == (200, 200)
    user = body["data"]["user"]
    assert (user["id"], user["isVip"], user["phone"]) == (1, 1, "13800000001")
    assert shanghai(user["vipExpireTime"]) == datetime(2099, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
    # The first login brings the hash to full strength.
    (hashed,) = sitedb.fetch(site.db, "SELECT password FROM `user` WHERE id = 1")[0]
    assert hashed.startswith("pbkdf2_sha256$1000000$")
    wrong = browser.api("POST", "/api/users/login", {"username": "bob", "password": "bob12345"})
    assert wrong[1]["code"] == 1006
    disabled = browser.api(
        "POST", "/api/users/login", {"username": "erin", "password": "erin-pass"}
    )
    assert disabled[1]["code"] == 1005


def test_old_users_log_in_on_the_vip_page_and_staff_in_the_admin(site, server):
    assert Browser(server.url).form_login("/accounts/login/", "bob", "bob123456") == (302, "/vip/")
    site.db.cursor().execute("UPDATE `user` SET is_staff = 1, is_superuser = 1 WHERE id = 5")
    staff = Browser(server.url)
    status, location = staff.form_login("/admin/login/?next=/admin/", "dave", "dave-admin")
    assert (status, location) == (302, "/admin/")
    # The old orders in the admin's list, the pending one past its deadline as expired.
    status, _, page = staff.request("GET", "/admin/payments/viporder/?q=9f8e7d6c5b4a3f2e")
    assert status == 200
    assert "9f8e7d6c5b4a3f2e" in page and "已过期" in page


def test_old_orders_are_listed_and_read_through_the_api(site, server):
    browser = Browser(server.url)
    browser.api("POST", "/api/users/login", {"username": "bob", "password": "bob123456"})
    status, page = browser.api("GET", "/api/payment/users/2/orders?page=0&size=10")
    assert status == 200
    listed = {o["orderNumber"]: o for o in page["content"]}
    assert set(listed) == {"9f8e7d6c5b4a3f2e", "00ff00ff00ff00ff"}
    pending_past_deadline = listed["9f8e7d6c5b4a3f2e"]
    assert (pending_past_deadline["status"], pending_past_deadline["statusName"]) == (3, "已过期")
    assert (pending_past_deadline["vipTypeName"], pending_past_deadline["amount"]) == (
        "月度会员",
        29.9,
    )
    no_method = listed["00ff00ff00ff00ff"]
    assert (no_method["paymentMethod"], no_method["vipTypeName"]) == (None, "季度会员")
    assert shanghai(no_method["expireTime"]) == datetime(2024, 6, 2, 9, 30, tzinfo=SHANGHAI)
    status, order = browser.api("GET", "/api/payment/orders/by-number/9f8e7d6c5b4a3f2e")
    assert (status, order["id"], order["createTime"][:19]) == (200, 2, "2024-06-01T12:00:00")
    status, poll = browser.api("GET", "/api/payment/status/9f8e7d6c5b4a3f2e")
    assert (status, poll["status"]) == (200, 3)


def test_a_payment_on_the_taken_over_database_writes_wall_clock_time(site, server):
    browser = Browser(server.url)
    browser.api("POST", "/api/users/login", {"username": "bob", "password": "bob123456"})
    browser.api("GET", "/api/users/current")  # the XSRF-TOKEN cookie
    status, order = browser.api(
        "POST",
        "/api/payment/generate-qrcode",
        {"userId": 2, "planId": 1, "amount": 29.9, "paymentMethod": 0},
    )
    assert status == 200, order
    paid = browser.api(
        "POST", "/api/payment/callback", {"orderId": order["orderId"], "status": "SUCCESS"}
    )
    assert paid == (200, {"orderId": order["orderId"], "status": 1})
    ((is_vip, expiry),) = sitedb.fetch(
        site.db, "SELECT is_vip, vip_expire_time FROM `user` WHERE id = 2"
    )
    wall_clock = datetime.now(SHANGHAI).replace(tzinfo=None) + timedelta(days=30)
    assert is_vip == 1
    assert abs(expiry - wall_clock) < timedelta(minutes=2)


def test_a_user_registered_by_the_platform_is_referenced_by_the_site_tables(site, server):
    _, body = Browser(server.url).api(
        "POST",
        "/api/users/register",
        {"username": "newcomer", "password": "New-member-1", "email": "new@example.com"},
    )
    assert body["code"] == 200, body
    new_id = body["data"]["id"]
    assert new_id > 8  # after the site's own ids
    sitedb.run_script(
        site.db,
        f"INSERT INTO user_role (user_id, role_id) VALUES ({new_id}, 1);"
        f"INSERT INTO comment (user_id, movie_id, content) VALUES ({new_id}, 1, '新来的');",
    )
    assert sitedb.fetch(site.db, f"SELECT COUNT(*) FROM comment WHERE user_id = {new_id}") == [(1,)]
    (avatar,) = sitedb.fetch(site.db, f"SELECT avatar FROM `user` WHERE id = {new_id}")[0]
    assert avatar == "default_avatar.jpg"


# --- The site's other programs keep writing after the switch (issue: every statement they ran
# before still runs). These run last: they change rows the tests above read.


def test_the_site_keeps_its_comments_and_defaults(site):
    for table in sitedb.TAKEN_OVER:
        after = column_comments(site.db, table)
        assert site.before.comments[table].items() <= after.items(), table
    user = sitedb.show_create(site.db, "user")
    assert "`register_time` datetime(6) DEFAULT current_timestamp(6) COMMENT '注册时间'" in user
    assert (
        "`update_time` datetime(6) DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6) "
        "COMMENT '更新时间'"
    ) in user
    order = sitedb.show_create(site.db, "vip_order")
    assert "`create_time` datetime(6) DEFAULT current_timestamp(6) COMMENT '创建时间'" in order
    # Every column the platform added has a default meaning "not set" (or may be NULL).
    added = sitedb.fetch(
        site.db,
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('user', 'vip_order') "
        "AND IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL AND EXTRA NOT LIKE '%%auto_increment%%'",
    )
    # The columns every insert of the old services names (and must: they had no default).
    assert set(added) <= {
        ("user", "username"), ("user", "password"), ("user", "email"),
        ("vip_order", "user_id"), ("vip_order", "order_number"), ("vip_order", "vip_type"),
        ("vip_order", "amount"),
    }, added  # fmt: skip


def test_the_other_programs_statements_still_run_after_the_takeover(site, server):
    written = other_programs.write(site.db, "a1")  # no ERROR 1364: every column has a default
    ((register, create, update),) = sitedb.fetch(
        site.db,
        "SELECT register_time, create_time, update_time FROM `user` WHERE id = %s",
        [written.hand_user],
    )
    assert register is not None and create is not None and update is not None
    # The old user service's plain-text password lets its user in, and is hashed at once.
    browser = Browser(server.url)
    status, body = browser.api(
        "POST", "/api/users/login", {"username": "javaa1", "password": "java-plain-a1"}
    )
    assert (status, body["code"]) == (200, 200), body
    ((stored,),) = sitedb.fetch(
        site.db, "SELECT password FROM `user` WHERE id = %s", [written.java_user]
    )
    assert stored.startswith("pbkdf2_sha256$") and "java-plain-a1" not in stored
    # The old payment service's order reads as the plan it bought, and pays the plan's days.
    browser.api("GET", "/api/users/current")  # the XSRF-TOKEN cookie
    status, order = browser.api("GET", f"/api/payment/orders/by-number/{written.order_number}")
    assert (status, order["vipTypeName"], order["status"]) == (200, "月度会员", 0), order
    paid = browser.api(
        "POST", "/api/payment/callback", {"orderId": written.order_number, "status": "SUCCESS"}
    )
    assert paid == (200, {"orderId": written.order_number, "status": 1})
    ((days,),) = sitedb.fetch(
        site.db,
        "SELECT DATEDIFF(l.expire_after, l.expire_before) FROM vip_ledger l WHERE l.order_id = %s",
        [written.order],
    )
    assert days == 30  # from the 30 days the other program's grant gave, 30 more


def test_a_plain_text_password_is_hashed_within_a_minute_without_a_login(site):
    site.db.cursor().execute(
        "INSERT INTO user (username, password, email, is_vip, user_status) "
        "VALUES ('latecomer', 'late-pass-1', 'late@example.com', 0, 1)"
    )
    job = sitedb.manage(site.name, "hash_plain_passwords")
    assert re.fullmatch(r"hashed [1-9]\d* passwords", job.stdout.strip()), job.stdout + job.stderr
    ((stored,),) = sitedb.fetch(site.db, "SELECT password FROM `user` WHERE username = 'latecomer'")
    assert stored.startswith("pbkdf2_sha256$10000$")
    assert sitedb.fetch(
        site.db, "SELECT COUNT(*) FROM `user` WHERE password NOT LIKE 'pbkdf2_sha256$%%'"
    ) == [(0,)]


def test_unknown_times_stay_unknown_and_no_old_order_reopens(site, server):
    assert sitedb.fetch(
        site.db, "SELECT register_time, create_time, update_time FROM `user` WHERE id = 9"
    ) == [(None, None, None)]
    assert sitedb.fetch(
        site.db, "SELECT status, create_time, expire_time FROM vip_order WHERE id = 7"
    ) == [(0, None, None)]
    carol = Browser(server.url)
    carol.api("POST", "/api/users/login", {"username": "carol", "password": "carol-pw"})
    status, order = carol.api("GET", "/api/payment/orders/by-number/77777777deadbeef")
    assert (status, order["status"], order["statusName"]) == (200, 3, "已过期")
    assert (order["createTime"], order["expireTime"]) == (None, None)
    carol.api("GET", "/api/users/current")  # the XSRF-TOKEN cookie
    cancel = carol.api("PUT", "/api/payment/orders/7/cancel")[0]
    assert cancel == 409  # not pending: nothing to cancel, nothing to pay


def test_no_member_loses_vip_at_switch_on(site, server):
    """frank: `is_vip = 1` without an expiry, VIP on the old site (the movie service reads only
    `is_vip`). The statistics service's count is the same after the switch; the first expiry
    run ends only memberships whose expiry has passed."""
    assert other_programs.vip_count(site.db) >= site.before.vip_count  # + the a1 grant
    ledger = sitedb.fetch(site.db, "SELECT kind, reason FROM vip_ledger WHERE user_id = 9")
    assert [kind for kind, _ in ledger] == ["takeover"]
    job = sitedb.manage(site.name, "expire_vips")
    assert job.returncode == 0, job.stderr
    assert sitedb.fetch(site.db, "SELECT is_vip, vip_expire_time FROM `user` WHERE id = 9") == [
        (1, None)
    ]
    assert sitedb.fetch(site.db, "SELECT is_vip FROM `user` WHERE id = 3") == [(0,)]  # 2020
    frank = Browser(server.url)
    _, body = frank.api("POST", "/api/users/login", {"username": "frank", "password": "frank-pass"})
    assert (body["data"]["user"]["isVip"], body["data"]["user"]["vipExpireTime"]) == (1, None)
    _, _, page = frank.request("GET", "/vip/")
    assert "长期有效" in page


def test_deleting_a_user_in_sql_works_as_the_sites_keys_promise(site, server):
    buyer = Browser(server.url)
    _, body = buyer.api(
        "POST",
        "/api/users/register",
        {"username": "leaver", "password": "Leaver-pass-1", "email": "leaver@example.com"},
    )
    leaver = body["data"]["id"]
    buyer.api("POST", "/api/users/login", {"username": "leaver", "password": "Leaver-pass-1"})
    buyer.api("GET", "/api/users/current")
    _, order = buyer.api(
        "POST",
        "/api/payment/generate-qrcode",
        {"userId": leaver, "planId": 1, "amount": 29.9, "paymentMethod": 0},
    )
    buyer.api("POST", "/api/payment/callback", {"orderId": order["orderId"], "status": "SUCCESS"})
    site.db.cursor().execute(
        "INSERT INTO django_admin_log (action_time, object_id, object_repr, action_flag, "
        "change_message, user_id) VALUES (NOW(), '1', 'x', 2, '', 5)"
    )
    other_programs.delete_user(site.db, leaver)  # no ERROR 1451
    other_programs.delete_user(site.db, 5)  # dave: staff, with admin history
    assert sitedb.fetch(site.db, "SELECT COUNT(*) FROM vip_order WHERE user_id = %s", [leaver]) == [
        (0,)
    ]  # the site's key cascades
    # The money's history stays, without the user and the order.
    assert sitedb.fetch(
        site.db,
        "SELECT user_id, order_id, kind FROM vip_ledger WHERE reason LIKE %s",
        [f"%{order['orderId']}%"],
    ) == [(None, None, "purchase")]
    assert sitedb.fetch(site.db, "SELECT COUNT(*) FROM django_admin_log WHERE user_id = 5") == [
        (0,)
    ]


def test_a_rollback_leaves_the_database_as_it_was_and_a_second_takeover_starts_over(tmp_path):
    name = f"site_rollback_{os.getpid()}"
    db = sitedb.create(name)
    try:
        add_old_rows(db)
        tables = sitedb.tables(db)
        before = {t: sitedb.show_create(db, t) for t in tables}
        sums = sitedb.checksums(db, tables)
        backup = tmp_path / "takeover-before.sql"
        sitedb.dump(name, backup, "user", "vip_order")  # step 1 of the guide
        result, _ = sitedb.migrate(name)
        assert result.returncode == 0, result.stderr
        refused = sitedb.manage(name, "rollback_takeover", "--yes")
        assert refused.returncode != 0 and "restore it" in refused.stderr  # dump first
        sitedb.restore(name, backup)
        rolled = sitedb.manage(name, "rollback_takeover", "--yes")
        assert rolled.returncode == 0, rolled.stderr
        assert sitedb.tables(db) == tables  # django_migrations and the platform's tables gone
        assert {t: sitedb.show_create(db, t) for t in tables} == before
        assert sitedb.checksums(db, tables) == sums  # plain-text passwords back, as they were
        again, _ = sitedb.migrate(name)
        assert again.returncode == 0, again.stderr
        assert re.search(r"passwords hashed: 6/6", again.stdout)  # from the start
    finally:
        db.close()
        sitedb.drop(name)
