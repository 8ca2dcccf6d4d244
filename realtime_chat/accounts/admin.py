from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from realtime_chat.accounts.models import UsageLimits, User


class UsageLimitsInline(admin.StackedInline):
    """Per-user overrides of the daily token budget and document quotas (empty: the settings' defaults)."""

    model = UsageLimits
    can_delete = True
    extra = 0
    max_num = 1


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "email_verified_at", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", ("email_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "email", "first_name", "last_name"]
    inlines = [UsageLimitsInline]
    fieldsets = [
        *(DjangoUserAdmin.fieldsets or ()),
        ("Verification", {"fields": ["email_verified_at"]}),
    ]
