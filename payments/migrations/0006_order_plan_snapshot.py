"""Orders keep the plan's name and days as bought; existing orders copy them from their plan."""

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery


BATCH = 10_000


def copy_from_plans(apps, schema_editor):
    """In batches of ids: on MariaDB (no transactional DDL) each batch commits on its own, so a
    callback waits for at most one batch's row locks, not for the whole table's."""
    VipOrder = apps.get_model("payments", "VipOrder")
    VipPlan = apps.get_model("payments", "VipPlan")
    plan = VipPlan.objects.filter(pk=OuterRef("plan_id"))
    last = VipOrder.objects.aggregate(last=Max("pk"))["last"] or 0
    for start in range(0, last, BATCH):
        VipOrder.objects.filter(pk__gt=start, pk__lte=start + BATCH).update(
            plan_name=Subquery(plan.values("name")[:1]),
            plan_days=Subquery(plan.values("days")[:1]),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_payment_notification"),
    ]

    operations = [
        migrations.AddField(
            model_name="viporder",
            name="plan_name",
            field=models.CharField(default="", max_length=50, verbose_name="套餐名称"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="viporder",
            name="plan_days",
            field=models.PositiveIntegerField(default=0, verbose_name="套餐天数"),
            preserve_default=False,
        ),
        migrations.RunPython(copy_from_plans, migrations.RunPython.noop, elidable=True),
    ]
