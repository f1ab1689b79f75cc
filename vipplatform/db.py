"""Database pieces for living in the movie site's database (`docs/takeover.md`).

The platform takes over the site's `user` and `vip_order` tables in place while seven other
services keep using that database. So its columns keep the site's types where others read
them (`INT UNSIGNED` keys, `is_vip` an integer), and its migrations either build a table or,
on the site's database, take over the one that is there.
"""

from django.db import models
from django.db.migrations.operations.base import Operation

# Tables of the site's other services: finding any of them means this is the site's database,
# whose `user` and `vip_order` the platform took over rather than built.
SITE_TABLES = frozenset(
    {
        "advertisement", "category", "comment", "feedback", "feedback_process", "file_record",
        "movie", "movie_category", "news", "news_category", "news_subscriber", "permission",
        "role", "role_permission", "user_behavior", "user_favorite", "user_history", "user_role",
        "view_statistics", "vip_movie_view_count", "watch_history",
    }
)  # fmt: skip


class UnsignedAutoField(models.AutoField):
    """`INT UNSIGNED AUTO_INCREMENT` on MariaDB/MySQL, the site's key type: eight of its tables
    reference `user.id` with it, and a foreign key must match its target's type exactly."""

    def db_type(self, connection):
        if connection.vendor == "mysql":
            return "integer UNSIGNED AUTO_INCREMENT"
        return super().db_type(connection)

    def rel_db_type(self, connection):
        if connection.vendor == "mysql":
            return "integer UNSIGNED"
        return super().rel_db_type(connection)


class IntegerBooleanField(models.BooleanField):
    """A boolean stored as an `INT` 0/1: the site's services read `user.is_vip` as an Integer
    and compare it with 1."""

    def db_type(self, connection):
        if connection.vendor == "mysql":
            return "integer"
        return super().db_type(connection)


def is_site_database(connection) -> bool:
    with connection.cursor() as cursor:
        return not SITE_TABLES.isdisjoint(connection.introspection.table_names(cursor))


def existing_tables(schema_editor) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


def add_missing_fields(schema_editor, model, names: list[str]) -> None:
    """Add the model's fields that the table lacks, as Django adds them to any table."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        columns = {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, model._meta.db_table
            )
        }
    for name in names:
        field = model._meta.get_field(name)
        if field.column not in columns:
            schema_editor.add_field(model, field)


def has_constraint(schema_editor, table: str, name: str) -> bool:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return name in connection.introspection.get_constraints(cursor, table)


class OnTakeover(Operation):
    """Run `operation` where the platform builds its tables; on the site's database, where the
    table is already there, run `instead(schema_editor, to_state)` (nothing when None). The
    migration state is the operation's either way."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, operation: Operation, instead=None):
        self.operation = operation
        self.instead = instead

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operation], {"instead": self.instead})

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not is_site_database(schema_editor.connection):
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)
        elif self.instead is not None:
            self.instead(schema_editor, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if is_site_database(schema_editor.connection):
            raise NotImplementedError(
                "A takeover of the site's tables is undone from the backup taken before it "
                "(docs/takeover.md), not by migrating backwards."
            )
        self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{self.operation.describe()}, or take over the site's table"


# The site's column definitions that Django cannot write: CURRENT_TIMESTAMP defaults with the
# comments (Django drops a column's comment when it changes its nullability), and
# `update_time`'s ON UPDATE. The site's other programs insert without these columns and rely
# on them; the platform keeps them on a taken-over table and gives them to a fresh one.
SITE_COLUMNS = {
    "user": [
        "`register_time` datetime(6) NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT '注册时间'",
        "`create_time` datetime(6) NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT '创建时间'",
        "`update_time` datetime(6) NULL DEFAULT CURRENT_TIMESTAMP(6) "
        "ON UPDATE CURRENT_TIMESTAMP(6) COMMENT '更新时间'",
    ],
    "vip_order": [
        "`create_time` datetime(6) NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT '创建时间'",
        "`expire_time` datetime(6) NULL COMMENT '过期时间'",
    ],
}


def site_columns(table: str):
    """A migration's RunPython: give `table` the site's column definitions (MariaDB/MySQL)."""

    def forwards(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "mysql":
            return  # SQLite, the quick start's: no other program writes it
        modify = ", ".join(f"MODIFY {column}" for column in SITE_COLUMNS[table])
        schema_editor.execute(f"ALTER TABLE `{table}` {modify}")

    return forwards


def set_delete_rule(schema_editor, table: str, column: str, rule: str) -> None:
    """Make every foreign key on `table`.`column` act ON DELETE `rule` in the database (Django
    writes its foreign keys without one, enforcing `on_delete` in Python only; the site's
    services delete with SQL). MariaDB/MySQL only."""
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CONSTRAINT_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
            "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = %s AND COLUMN_NAME = %s AND REFERENCED_TABLE_NAME IS NOT NULL",
            [table, column],
        )
        keys = cursor.fetchall()
    quote = schema_editor.quote_name
    for name, target, target_column in keys:
        # Two statements: MariaDB refuses to drop and re-add one name in the same ALTER.
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP FOREIGN KEY {quote(name)}")
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} "
            f"FOREIGN KEY ({quote(column)}) REFERENCES {quote(target)} ({quote(target_column)}) "
            f"ON DELETE {rule}"
        )
