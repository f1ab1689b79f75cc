from django.core.management.base import BaseCommand

from payments.notifications import notifications_prune


class Command(BaseCommand):
    help = (
        "Delete refused gateway notifications (bad or missing signature) older than "
        "PAYMENT_NOTIFICATION_RETENTION_DAYS; verified ones are kept."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"deleted {notifications_prune()} refused notifications")
