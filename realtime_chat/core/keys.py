"""Ids from clients checked against the key column before they reach a query."""

from django.db import connection
from django.db.models import Model


def fits_the_key(model: type[Model], value: int) -> bool:
    """Whether `value` can be a primary key of `model` at all. An id beyond the column's range names no row, and
    SQLite's driver refuses to bind it (an OverflowError, a 500) instead of finding nothing."""
    low, high = connection.ops.integer_field_range(model._meta.pk.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)
