"""Members of the old site without an end date (`is_vip = 1`, no `vip_expire_time`), which the
movie service treats as VIP: they stay members, without an end (`User.vip_active`), and each
gets one ledger row saying where the membership came from. Run again, it adds none twice."""

from django.db import migrations
from django.utils import timezone

REASON = "接管：原站点的VIP（is_vip=1，无到期时间），保留为长期会员"


def forwards(apps, schema_editor):
    User = apps.get_model("users", "User")
    VipLedgerEntry = apps.get_model("users", "VipLedgerEntry")
    members = User.objects.filter(is_vip=True, vip_expire_time__isnull=True).exclude(
        vip_ledger__kind="takeover"
    )
    now = timezone.now()
    rows = (
        VipLedgerEntry(
            user_id=pk,
            kind="takeover",
            expire_before=None,
            expire_after=None,
            reason=REASON,
            created_at=now,
        )
        for pk in members.values_list("pk", flat=True).iterator(chunk_size=2000)
    )
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 2000:
            VipLedgerEntry.objects.bulk_create(batch)
            batch = []
    VipLedgerEntry.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("users", "0005_site_defaults_comments_and_delete_rules")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
