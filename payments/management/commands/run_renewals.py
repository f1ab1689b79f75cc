from unittest import mock

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from payments.renewals import renewals_run


class Command(BaseCommand):
    help = (
        "Run the 连续包月 job once: lapse old signings, send the reminders and pre-debit "
        "notices due, charge the agreements due (here, one after the other), unsign ended ones."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--at",
            help="a rehearsal against the local fakes: the platform's clock (timezone.now) "
            "reads this time (ISO 8601 with its offset), ticking; the providers' signatures "
            "keep the real clock, as the fakes' do (their own clock moves with POST /clock). "
            "Refused unless the fakes are installed (DEBUG).",
        )

    def handle(self, *args, at: str | None = None, **options):
        if at is None:
            self.stdout.write(str(renewals_run(inline=True)))
            return
        if not apps.is_installed("devtools"):
            raise CommandError("--at moves the clock: only with the local fakes (DEBUG).")
        moment = parse_datetime(at)
        if moment is None or moment.tzinfo is None:
            raise CommandError("--at takes an ISO 8601 time with an offset: 2027-01-02T10:00+08:00")
        real_now = timezone.now
        shift = moment - real_now()
        with mock.patch("django.utils.timezone.now", lambda: real_now() + shift):
            self.stdout.write(str(renewals_run(inline=True)))
