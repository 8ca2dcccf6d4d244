from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from realtime_chat.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "email_verified_at", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", ("email_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = [
        *(DjangoUserAdmin.fieldsets or ()),
        ("Verification", {"fields": ["email_verified_at"]}),
    ]
