from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments.bills import bill_providers, bill_reconcile


class Command(BaseCommand):
    help = "Reconcile a day (yesterday by default) against each provider's bill, again if done."

    def add_arguments(self, parser):
        parser.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--provider", help="one provider's name (wechat, alipay)")

    def handle(self, *args, day: date | None, provider: str | None, **options):
        day = day or timezone.localdate() - timedelta(days=1)
        names = [p.name for p in bill_providers()]
        if not names:
            raise CommandError("No configured provider keeps a daily bill (WECHATPAY_*, ALIPAY_*).")
        if provider:
            if provider not in names:
                raise CommandError(f"{provider} keeps no bill here (configured: {names})")
            names = [provider]
        for name in names:
            record = bill_reconcile(provider=name, day=day)
            self.stdout.write(
                f"{name} {day}: {record.state}, {record.lines} lines, {record.matched} matched, "
                f"{record.differences} differences ({record.open_differences} open)"
                + (f": {record.detail}" if record.detail else "")
            )
