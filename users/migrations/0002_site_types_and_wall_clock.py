"""Bring a database built by an earlier platform release to the site's column types and time.

Until this release the platform built its own tables with BIGINT keys and a TINYINT `is_vip`,
and stored datetimes in UTC. Migrations users.0001 and payments.0001 now build (or take over)
the site's types directly, so a fresh database and a taken-over one have nothing to do here.
A database built before (it still has a TINYINT `is_vip`) gets its columns altered to the
site's types and every datetime moved from UTC to the site's wall-clock time, once.
"""

from datetime import datetime

from django.db import migrations, models
from django.db.models import Count, DateTimeField
from django.db.models.functions import Lower


def built_by_an_earlier_release(schema_editor) -> bool:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(
                "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = 'user' AND COLUMN_NAME = 'is_vip'"
            )
            return cursor.fetchone()[0].lower() == "tinyint"
        if connection.vendor == "sqlite":
            cursor.execute("SELECT type FROM pragma_table_info('user') WHERE name = 'is_vip'")
            return cursor.fetchone()[0].lower() == "bool"
    return False


def old_field(field: models.Field, name: str, model) -> models.Field:
    field.set_attributes_from_name(name)
    field.model = model
    return field


def alter_to_site_types(apps, schema_editor):
    if not built_by_an_earlier_release(schema_editor):
        return
    User = apps.get_model("users", "User")
    VipOrder = apps.get_model("payments", "VipOrder")
    VipPlan = apps.get_model("payments", "VipPlan")
    before = [
        (User, "id", models.BigAutoField(primary_key=True)),
        (User, "username", models.CharField(max_length=150, unique=True)),
        (User, "email", models.EmailField(max_length=254, blank=True)),
        (User, "phone", models.CharField(max_length=20, blank=True)),
        (User, "avatar", models.CharField(max_length=255, blank=True)),
        (User, "is_vip", models.BooleanField(default=False)),
        (VipOrder, "id", models.BigAutoField(primary_key=True)),
        (VipOrder, "order_number", models.CharField(max_length=32, unique=True)),
        (VipOrder, "payment_method", models.IntegerField()),
        (VipPlan, "id", models.BigAutoField(primary_key=True)),
    ]
    give_every_user_an_email(User)
    for model, name, field in before:
        schema_editor.alter_field(model, old_field(field, name, model), model._meta.get_field(name))
    move_datetimes_to_wall_clock(apps, schema_editor)


def give_every_user_an_email(User) -> None:
    """Emails become unique: accounts made without one (staff, before it was required) get a
    placeholder that can never receive mail; two accounts sharing one address stop the
    migration, because only a person can tell which of them keeps it."""
    for pk in User.objects.filter(email="").values_list("pk", flat=True):
        User.objects.filter(pk=pk).update(email=f"user{pk}@no-email.invalid")
    shared = (
        User.objects.annotate(address=Lower("email"))
        .values("address")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("address", flat=True)
    )
    if shared:
        raise RuntimeError(
            "These emails belong to more than one user; give each user its own, then migrate "
            "again: " + ", ".join(shared)
        )


def move_datetimes_to_wall_clock(apps, schema_editor):
    """Every datetime column of the platform's tables, from UTC to the database's zone."""
    connection = schema_editor.connection
    zone = connection.timezone
    offsets = {zone.utcoffset(datetime(year, month, 1)) for year in (2025, 2026) for month in (1, 7)}
    if len(offsets) != 1:
        raise RuntimeError(f"{zone} changes its offset over the year; convert the times by hand")
    seconds = int(offsets.pop().total_seconds())
    quote = connection.ops.quote_name
    for model in apps.get_models():
        columns = [f.column for f in model._meta.local_fields if isinstance(f, DateTimeField)]
        if not columns or model._meta.db_table not in _tables(connection):
            continue
        if connection.vendor == "mysql":
            shift = ", ".join(f"{quote(c)} = {quote(c)} + INTERVAL {seconds} SECOND" for c in columns)
        else:
            shift = ", ".join(
                f"{quote(c)} = strftime('%Y-%m-%d %H:%M:%f', {quote(c)}, '{seconds:+d} seconds')"
                for c in columns
            )
        schema_editor.execute(f"UPDATE {quote(model._meta.db_table)} SET {shift}")


def _tables(connection) -> list[str]:
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


class Migration(migrations.Migration):
    atomic = False  # MariaDB commits each ALTER at once; Django refuses them in a transaction
    dependencies = [
        ("users", "0001_initial"),
        ("payments", "0007_sandbox_order_number_50"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(alter_to_site_types, migrations.RunPython.noop, elidable=True),
    ]
