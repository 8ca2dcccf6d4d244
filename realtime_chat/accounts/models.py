"""The user model, and the login each refresh token descends from."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


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


class RefreshTokenFamilyMember(models.Model):
    """The login (family) a refresh token descends from, recorded when tokens are rotated: a spent token used again
    was copied, so every token of its family is revoked. Deleted with the token's row."""

    token = models.OneToOneField(
        OutstandingToken, on_delete=models.CASCADE, primary_key=True, related_name="family_member"
    )
    family = models.UUIDField(db_index=True)

    def __str__(self) -> str:
        return f"{self.token_id} in {self.family}"
