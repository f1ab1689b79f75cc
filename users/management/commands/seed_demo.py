from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.models import VipPlan
from users.models import User

DEMO_LOGINS = [
    # username, password, staff
    ("demo", "demo-vip-2026", False),
    ("admin", "admin-vip-2026", True),
]


class Command(BaseCommand):
    help = "Create the demo logins (a member and a staff user) and print them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="also when DEBUG is off (never in production)"
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates known passwords; it runs only with DEBUG on.")
        # A 连续包月 plan, offered on /vip/ where a provider signs agreements (the sandbox, the
        # local fakes).
        if not VipPlan.objects.filter(renews=True).exists():
            VipPlan.objects.create(
                name="连续包月", days=30, price=Decimal("25.00"), first_price=Decimal("15.00"),
                renews=True,
            )  # fmt: skip
        for username, password, staff in DEMO_LOGINS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.com",
                    "is_staff": staff,
                    "is_superuser": staff,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
        self.stdout.write(
            self.style.SUCCESS(
                "\nDemo logins (plans: 月度 29.90 / 季度 88.00 / 年度 328.00; "
                "连续包月 15.00, then 25.00 every 30 days):\n"
                + "\n".join(
                    f"  {'staff ' if staff else 'member'}  {username} / {password}"
                    for username, password, staff in DEMO_LOGINS
                )
                + "\n  API docs: /api/docs/   admin: /admin/\n"
            )
        )
