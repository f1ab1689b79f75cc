from django.core.management.base import BaseCommand

from users.services import passwords_hash_plain


class Command(BaseCommand):
    help = "Hash the passwords another program stored as typed (the every-minute job's work)."

    def handle(self, *args, **options):
        self.stdout.write(f"hashed {passwords_hash_plain()} passwords")
