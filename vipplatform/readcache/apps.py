from django.apps import AppConfig


class ReadCacheConfig(AppConfig):
    name = "vipplatform.readcache"
    label = "readcache"
    verbose_name = "读缓存"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from .users import user_saved

        for model_signal in (post_save, post_delete):
            model_signal.connect(
                user_saved, sender=get_user_model(), dispatch_uid="readcache.user_saved"
            )
