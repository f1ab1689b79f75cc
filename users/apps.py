from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "用户"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from payments.signals import payment_succeeded

        from . import backends, receivers
        from .models import User

        payment_succeeded.connect(
            receivers.grant_vip_for_paid_order, dispatch_uid="users.grant_vip_for_paid_order"
        )
        for model_signal in (post_save, post_delete):
            model_signal.connect(
                backends.refresh_cached_user, sender=User, dispatch_uid="users.refresh_cached_user"
            )
