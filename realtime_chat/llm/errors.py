"""Why a generation failed, split by the one thing a caller must decide: may another provider still answer?

Before the first token (`ProviderUnavailable`) the fallback chain tries the next provider; after it
(`GenerationInterrupted`) the answer is finished as an error, never continued by another model.
"""

from realtime_chat.core.errors import ApplicationError


class LLMError(ApplicationError):
    status_code = 503
    code = "llm_error"


class ProviderUnavailable(LLMError):
    """The provider failed before its first token: refused, timed out, 5xx, model missing."""

    code = "provider_unavailable"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider}: {reason}", extra={"provider": provider, "reason": reason})
        self.provider = provider
        self.reason = reason


class GenerationInterrupted(LLMError):
    """The provider failed after tokens started; `partial_text` is what the user already saw."""

    code = "generation_interrupted"

    def __init__(self, provider: str, reason: str, partial_text: str) -> None:
        super().__init__(f"{provider}: {reason}", extra={"provider": provider, "reason": reason})
        self.provider = provider
        self.reason = reason
        self.partial_text = partial_text


class NoProviderAvailable(LLMError):
    """Every provider of the chain failed and there is no extractive last resort."""

    code = "no_provider_available"

    def __init__(self, reasons: tuple[str, ...]) -> None:
        super().__init__("No language model is reachable: " + "; ".join(reasons), extra={"reasons": list(reasons)})
        self.reasons = reasons
