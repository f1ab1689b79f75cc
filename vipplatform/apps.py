from django.apps import AppConfig
from django.db.models.signals import post_migrate

ACTIONS = {"add": "添加", "change": "修改", "delete": "删除", "view": "查看"}


def translate_permission_names(app_config, using: str = "default", **kwargs) -> None:
    """The permissions Django creates are named in English ("Can add VIP订单") whatever the
    site's language; staff grant them in the admin by that name. Named in Chinese after each
    migrate (a `post_migrate` receiver, after Django's own that creates them)."""
    from django.conf import settings
    from django.contrib.auth.models import Permission
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        for permission in (
            Permission.objects.using(using)
            .filter(content_type__app_label=app_config.label, name__startswith="Can ")
            .select_related("content_type")
        ):
            action, _, raw = permission.name.removeprefix("Can ").partition(" ")
            model = permission.content_type.model_class()
            if action in ACTIONS:
                # the model's name in the site's language (Django names it untranslated)
                name = str(model._meta.verbose_name) if model is not None else raw
                permission.name = f"可以{ACTIONS[action]}{name}"[:255]
                permission.save(update_fields=["name"])


class VipPlatformConfig(AppConfig):
    name = "vipplatform"
    verbose_name = "平台"

    def ready(self) -> None:
        from django.apps import apps

        from .jobs import install_schedules

        # After django-celery-beat's tables exist.
        post_migrate.connect(
            translate_permission_names, dispatch_uid="vipplatform.translate_permission_names"
        )
        post_migrate.connect(
            install_schedules,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="vipplatform.install_schedules",
        )
