from django.core.management.base import BaseCommand

from payments.refunds import refunds_complete


class Command(BaseCommand):
    help = "Ask the providers about refunds still processing and settle what they report."

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age-seconds", type=int, default=0, help="leave younger refunds to their answer"
        )

    def handle(self, *args, min_age_seconds: int, **options):
        settled = refunds_complete(older_than_seconds=min_age_seconds)
        self.stdout.write(f"settled {settled}")
