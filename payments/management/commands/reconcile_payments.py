from datetime import timedelta

from django.core.management.base import BaseCommand

from payments.services import orders_reconcile


class Command(BaseCommand):
    help = "Ask the gateway about unpaid orders and complete the payments it reports."

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age-minutes", type=int, default=5, help="leave younger orders to their callback"
        )
        parser.add_argument("--max-age-hours", type=int, default=48)

    def handle(self, *args, min_age_minutes: int, max_age_hours: int, **options):
        counts = orders_reconcile(
            min_age=timedelta(minutes=min_age_minutes), max_age=timedelta(hours=max_age_hours)
        )
        self.stdout.write(
            "checked {checked}, paid {paid}, failed {failed}, errors {errors}".format(**counts)
        )
