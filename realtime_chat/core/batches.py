"""Deleting many rows in short statements, so a large backlog never holds long locks."""

from django.db.models import Model, QuerySet


def delete_in_batches(queryset: QuerySet, batch_size: int) -> int:
    """Delete what `queryset` matches, `batch_size` rows per statement; returns the rows of its own model deleted.

    Each batch deletes through `queryset` again, so its conditions (a chat session not generating, say) are
    re-checked by the DELETE itself, not only by the earlier SELECT.
    """
    model: type[Model] = queryset.model
    total = 0
    while ids := list(queryset.values_list("pk", flat=True)[:batch_size]):
        _, per_model = queryset.filter(pk__in=ids).delete()
        deleted = per_model.get(model._meta.label, 0)
        if not deleted:
            break  # everything selected changed in between; the next run picks up what is still due
        total += deleted
    return total
