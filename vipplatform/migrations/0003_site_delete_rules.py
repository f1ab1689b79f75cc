"""Deleting a user with SQL works as the site's keys promise: the site's eight foreign keys to
`user` cascade, and so do the platform's references to it, or they let go.

- `vip_order.user_id` cascades, as the site's own key does (a fresh database gets the same);
- `vip_ledger`'s user, actor and order become NULL: the money's history stays, without them;
- Django's own rows about a user (its groups, permissions, admin history) go with it.

The platform's own deletes are unchanged (`users.services.user_delete` disables a user with
orders or VIP history instead). Django writes its foreign keys without an ON DELETE rule and
does not change them afterwards, so these stay as set here.
"""

from django.db import migrations

from vipplatform.db import set_delete_rule

RULES = [
    ("vip_order", "user_id", "CASCADE"),
    ("vip_ledger", "user_id", "SET NULL"),
    ("vip_ledger", "actor_id", "SET NULL"),
    ("vip_ledger", "order_id", "SET NULL"),
    ("user_groups", "user_id", "CASCADE"),
    ("user_user_permissions", "user_id", "CASCADE"),
    ("django_admin_log", "user_id", "CASCADE"),
]


def forwards(apps, schema_editor):
    for table, column, rule in RULES:
        set_delete_rule(schema_editor, table, column, rule)


def backwards(apps, schema_editor):
    for table, column, _rule in RULES:
        set_delete_rule(schema_editor, table, column, "RESTRICT")


class Migration(migrations.Migration):
    dependencies = [
        ("vipplatform", "0002_throttle_count"),
        ("users", "0005_site_defaults_comments_and_delete_rules"),
        ("payments", "0013_site_defaults_and_comments"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False, atomic=False)]
