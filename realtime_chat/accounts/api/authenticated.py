"""The request an endpoint behind `IsAuthenticated` (the default permission) sees: its user is a `User`."""

from rest_framework.request import Request

from realtime_chat.accounts.models import User


class AuthenticatedRequest(Request):
    """A type to annotate such views' `request` with, never instantiated: DRF passes a plain `Request` whose user
    the permission has already checked, so the views need not narrow `request.user` from `User | AnonymousUser`."""

    user: User
