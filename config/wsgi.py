import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from vipplatform.startup import require_real_secret_key  # noqa: E402  (needs the settings configured)

require_real_secret_key()
