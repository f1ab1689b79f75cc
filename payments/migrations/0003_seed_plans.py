from decimal import Decimal

from django.db import migrations

PLANS = [
    (1, "月度会员", 30, Decimal("29.90")),
    (2, "季度会员", 90, Decimal("88.00")),
    (3, "年度会员", 365, Decimal("328.00")),
]


def seed_plans(apps, schema_editor):
    VipPlan = apps.get_model("payments", "VipPlan")
    for pk, name, days, price in PLANS:
        VipPlan.objects.update_or_create(
            pk=pk, defaults={"name": name, "days": days, "price": price, "is_active": True}
        )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_initial")]

    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
