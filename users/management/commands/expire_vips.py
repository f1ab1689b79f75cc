from django.core.management.base import BaseCommand

from users.services import vip_expire_due


class Command(BaseCommand):
    help = "Switch off memberships whose expiry has passed (one ledger row each)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size: int, **options):
        expired = vip_expire_due(batch_size=batch_size)
        self.stdout.write(f"expired {expired} memberships")
