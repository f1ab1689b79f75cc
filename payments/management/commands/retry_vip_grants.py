from django.core.management.base import BaseCommand

from payments.services import order_retry_failed_grants


class Command(BaseCommand):
    help = "Retry the VIP grants of paid orders whose grant failed."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit: int, **options):
        granted, failing = order_retry_failed_grants(limit=limit)
        self.stdout.write(f"granted {granted}, still failing {failing}")
