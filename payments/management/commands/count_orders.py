from django.core.management.base import BaseCommand

from payments.totals import totals_refresh


class Command(BaseCommand):
    help = (
        "Count the orders of each day before today into the daily totals that statistics and "
        "the overview read: the days not yet counted and yesterday, or with --all every day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="count every day again")

    def handle(self, *args, all: bool, **options):
        days = totals_refresh(everything=all)
        self.stdout.write(f"counted {days} days")
