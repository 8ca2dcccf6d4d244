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


class UsageLimits(models.Model):
    """One user's overrides of the site-wide budgets and quotas (set in the admin). An empty field means the
    setting's default applies; 0 means unlimited, as in the settings."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="usage_limits")
    daily_token_budget = models.PositiveIntegerField(
        null=True, blank=True, help_text="Prompt + completion tokens a day (UTC). Empty: CHAT_DAILY_TOKEN_BUDGET."
    )
    max_documents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Documents at once. Empty: RAG_MAX_DOCUMENTS_PER_USER."
    )
    max_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Bytes of documents at once. Empty: RAG_MAX_BYTES_PER_USER."
    )

    class Meta:
        verbose_name = verbose_name_plural = "usage limits"

    def __str__(self) -> str:
        return f"Usage limits of {self.user_id}"
