import contextlib
import shlex
from pathlib import Path

from django.core.management.base import BaseCommand

from devtools.fakes import FakeGateways


class Command(BaseCommand):
    help = (
        "Serve local fakes of WeChat Pay and Alipay (keys made in --keys the first time) and "
        "print the settings that point the platform at them; the buyer's phone is at /."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9100)
        parser.add_argument("--keys", type=Path, default=Path(".fake-gateways"))
        parser.add_argument(
            "--print-env", action="store_true", help="print the settings as exports and exit"
        )

    def handle(self, *args, host: str, port: int, keys: Path, print_env: bool, **options):
        fakes = FakeGateways(keys.resolve(), host=host, port=port)
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in fakes.settings().items())
        if print_env:
            fakes.server.server_close()
            self.stdout.write(exports)
            return
        self.stdout.write(f"# fake WeChat Pay and Alipay on {fakes.url}; the phone: {fakes.url}/")
        self.stdout.write(exports)
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            fakes.server.serve_forever()
