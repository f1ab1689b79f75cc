from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def fill_blank_emails(apps, schema_editor):
    """Accounts made without an email (staff, before it was required) get a placeholder that
    can never receive mail; two accounts sharing one address stop the migration, because only
    a person can tell which of them keeps it."""
    User = apps.get_model("users", "User")
    for user in User.objects.filter(email="").only("pk"):
        User.objects.filter(pk=user.pk).update(email=f"user{user.pk}@no-email.invalid")
    shared = (
        User.objects.annotate(address=Lower("email"))
        .values("address")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("address", flat=True)
    )
    if shared:
        raise RuntimeError(
            "These emails belong to more than one user; give each user its own, then migrate "
            "again: " + ", ".join(shared)
        )


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]

    operations = [
        migrations.RunPython(fill_blank_emails, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(max_length=254, unique=True, verbose_name="邮箱"),
        ),
    ]
