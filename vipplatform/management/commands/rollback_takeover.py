"""The second half of rolling the takeover back (docs/takeover.md, "Rolling back").

First the operator restores the two tables from the dump taken before the takeover
(`mysql online_movie_db < takeover-before.sql`: `user` and `vip_order` as they were, plain-text
passwords and all). Then this drops everything the platform added: its own tables, Django's
(`auth_*`, `django_*`, `user_groups`, ...), django-celery-beat's and `django_migrations`, so
the database is as it was before the takeover and a later `migrate` takes it over from the
start. The site's 23 tables are never touched.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from vipplatform.db import SITE_TABLES

TAKEN_OVER = ("user", "vip_order")
# Columns only the platform adds to the two tables: present means the dump is not restored.
PLATFORM_COLUMNS = {"user": "is_superuser", "vip_order": "plan_name"}


class Command(BaseCommand):
    help = (
        "After restoring user and vip_order from the dump taken before the takeover, drop the "
        "platform's tables and django_migrations (docs/takeover.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--yes", action="store_true", help="drop them (without it: only list them)"
        )

    def handle(self, *args, yes: bool = False, **options):
        if connection.vendor != "mysql":
            raise CommandError("The takeover, and so its rollback, is on MariaDB/MySQL only.")
        with connection.cursor() as cursor:
            existing = set(connection.introspection.table_names(cursor))
            for table, column in PLATFORM_COLUMNS.items():
                columns = {
                    c.name for c in connection.introspection.get_table_description(cursor, table)
                }
                if column in columns:
                    raise CommandError(
                        f"`{table}` is still the platform's (it has `{column}`): restore it "
                        "from the dump taken before the takeover first."
                    )
        ours = set(connection.introspection.django_table_names(include_views=False))
        ours.add("django_migrations")
        drop = sorted((ours & existing) - SITE_TABLES - set(TAKEN_OVER))
        if not yes:
            self.stdout.write("Would drop: " + ", ".join(drop) + "\n(run again with --yes)")
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            try:
                for table in drop:
                    cursor.execute(f"DROP TABLE {quote(table)}")
            finally:
                cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        self.stdout.write(f"dropped {len(drop)} tables: " + ", ".join(drop))
