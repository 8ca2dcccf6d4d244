"""The user model."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A person using the product. Email is unique (case-insensitively) because it receives account links."""

    email = models.EmailField("email address")
    email_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # django-stubs leaves out the abstract models' Meta
        swappable = "AUTH_USER_MODEL"
        db_table = "realtime_chat_user"  # the table it had before the apps were split: existing data stays
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
