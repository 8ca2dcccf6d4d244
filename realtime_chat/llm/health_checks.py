"""The model check: is the default model served?"""

from asgiref.sync import async_to_sync
from django.conf import settings

from realtime_chat.core.health import register
from realtime_chat.llm.factory import available_models


@register("llm", required=False)
def llm() -> str:
    """Optional: without a model the chain still answers (extractively, labelled), so the service is degraded."""
    names = {model.name for model in async_to_sync(available_models)()}
    if not names:
        raise RuntimeError(f"no model server reachable (OLLAMA_HOST={settings.OLLAMA_HOST})")
    if settings.OLLAMA_MODEL not in names:
        raise RuntimeError(f"default model {settings.OLLAMA_MODEL!r} missing; available: {', '.join(sorted(names))}")
    return f"{len(names)} model(s) available, default {settings.OLLAMA_MODEL!r} among them"
