"""Prometheus counters of chat turns, recorded when an answer is saved as finished.

A receiver of `Message`'s post_save, so chat need not know that metrics exist (analytics sits above it)."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from realtime_chat.chat.models import Message
from realtime_chat.core.metrics import FALLBACKS, TIME_TO_FIRST_TOKEN, TOKENS, TURN_SECONDS, TURNS

FINISHED = {Message.Status.COMPLETE, Message.Status.ERROR, Message.Status.CANCELLED}


@receiver(post_save, sender=Message, dispatch_uid="analytics-turn-metrics")
def turn_finished(sender: type[Message], instance: Message, created: bool, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if created or kwargs.get("raw") or instance.role != Message.Role.ASSISTANT or instance.status not in FINISHED:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    labels = {"model": instance.model or "unknown", "provider": instance.provider or "unknown"}
    TURNS.labels(**labels, status=instance.status).inc()
    TOKENS.labels(**labels, kind="prompt").inc(instance.prompt_tokens or 0)
    TOKENS.labels(**labels, kind="completion").inc(instance.completion_tokens or 0)
    if instance.first_token_ms is not None:
        TIME_TO_FIRST_TOKEN.labels(**labels).observe(instance.first_token_ms / 1000)
    if instance.total_ms is not None:
        TURN_SECONDS.labels(**labels).observe(instance.total_ms / 1000)
    if instance.fallback_from and instance.status == Message.Status.COMPLETE:
        FALLBACKS.labels(**labels).inc()
