from django.core.management.base import BaseCommand

from payments.services import order_expire_overdue


class Command(BaseCommand):
    help = "Mark pending orders past their payment deadline as expired (status 3)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size: int, **options):
        expired = order_expire_overdue(batch_size=batch_size)
        self.stdout.write(f"expired {expired} orders")
