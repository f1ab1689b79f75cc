import contextlib
import shlex
from pathlib import Path

from django.core.management.base import BaseCommand

from devtools.fakes import FakeGateways, gateway_settings


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
        if print_env:  # also while the fakes run (a shell that reconciles a day by hand)
            settings = gateway_settings(keys.resolve(), f"http://{host}:{port}")
            self.stdout.write(_exports(settings))
            return
        fakes = FakeGateways(keys.resolve(), host=host, port=port)
        exports = _exports(fakes.settings())
        self.stdout.write(f"# fake WeChat Pay and Alipay on {fakes.url}; the phone: {fakes.url}/")
        self.stdout.write(exports)
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            fakes.server.serve_forever()


def _exports(settings: dict[str, str]) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in settings.items())
