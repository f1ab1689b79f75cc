from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "用户"

    def ready(self) -> None:
        from payments.signals import (
            agreement_changed,
            order_story_told,
            payment_succeeded,
            refund_previewed,
            refund_succeeded,
        )

        from . import receivers, story

        payment_succeeded.connect(
            receivers.grant_vip_for_paid_order, dispatch_uid="users.grant_vip_for_paid_order"
        )
        refund_succeeded.connect(
            receivers.take_back_for_refund, dispatch_uid="users.take_back_for_refund"
        )
        refund_previewed.connect(receivers.preview_take_back, dispatch_uid="users.preview")
        order_story_told.connect(story.order_chapter, dispatch_uid="users.order_chapter")
        agreement_changed.connect(
            receivers.tell_member_of_agreement, dispatch_uid="users.tell_member_of_agreement"
        )
