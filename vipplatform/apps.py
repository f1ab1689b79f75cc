from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VipPlatformConfig(AppConfig):
    name = "vipplatform"
    verbose_name = "平台"

    def ready(self) -> None:
        from django.apps import apps

        from .jobs import install_schedules

        # After django-celery-beat's tables exist (this app has no models of its own).
        post_migrate.connect(
            install_schedules,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="vipplatform.install_schedules",
        )
