"""Taking over the site's `vip_order` table in place: what migrations payments.0001 and 0002 do
on the site's database instead of creating the table and its foreign keys
(`docs/takeover.md`).

Every row and id stays; the old 16-hex order numbers stay valid; the columns the platform adds
get values that keep old orders readable (a pending order past its deadline reads expired).
"""

from django.db.models import Max

from vipplatform.db import SITE_COLUMNS, add_missing_fields, has_constraint

# The old service wrote no deadline on some orders; it gave payers 30 minutes.
OLD_DEADLINE_MINUTES = 30
FOREIGN_KEY = "vip_order_vip_type_fk_vip_plan_id"


def take_over_order_table(schema_editor, to_state) -> None:
    VipOrder = to_state.apps.get_model("payments", "VipOrder")
    # A missing time is filled only from the order's own times, never with the takeover's
    # moment: an old order whose times are unknown keeps them unknown, and a pending one
    # without a deadline reads as expired (`models.effective_status`), never open again.
    schema_editor.execute(
        "UPDATE `vip_order` SET status = COALESCE(status, 0), "
        "create_time = COALESCE(create_time, pay_time, expire_time - INTERVAL %s MINUTE), "
        "qr_code_url = COALESCE(qr_code_url, '')",
        [OLD_DEADLINE_MINUTES],
    )
    schema_editor.execute(
        "UPDATE `vip_order` SET expire_time = create_time + INTERVAL %s MINUTE "
        "WHERE expire_time IS NULL AND create_time IS NOT NULL",
        [OLD_DEADLINE_MINUTES],
    )
    schema_editor.execute(
        "ALTER TABLE `vip_order` "
        "MODIFY `amount` decimal(10, 2) NOT NULL, "
        "MODIFY `payment_method` integer NULL, "
        "MODIFY `status` integer NOT NULL DEFAULT 0, "
        "MODIFY `pay_time` datetime(6) NULL COMMENT '支付时间', "
        "MODIFY `qr_code_url` varchar(255) NOT NULL DEFAULT '', "
        + ", ".join(f"MODIFY {column}" for column in SITE_COLUMNS["vip_order"])
    )
    add_missing_fields(
        schema_editor, VipOrder, ["transaction_id", "grant_failed_at", "grant_error"]
    )


def link_orders_to_plans(schema_editor, to_state) -> None:
    """`vip_type` becomes a foreign key to the plans table. The site had no such table: every
    code its orders use gets a plan row first (the contract's three are filled in by the next
    migration; any other code gets an inactive plan for staff to name)."""
    VipPlan = to_state.apps.get_model("payments", "VipPlan")
    VipOrder = to_state.apps.get_model("payments", "VipOrder")
    codes = VipOrder.objects.order_by().values_list("plan_id", flat=True).distinct()
    for code in codes:
        highest = VipOrder.objects.filter(plan_id=code).aggregate(price=Max("amount"))["price"]
        VipPlan.objects.get_or_create(
            pk=code,
            defaults={"name": f"旧套餐{code}", "days": 0, "price": highest, "is_active": False},
        )
    if not has_constraint(schema_editor, "vip_order", FOREIGN_KEY):
        schema_editor.execute(
            f"ALTER TABLE `vip_order` ADD CONSTRAINT `{FOREIGN_KEY}` "
            "FOREIGN KEY (`vip_type`) REFERENCES `vip_plan` (`id`)"
        )
