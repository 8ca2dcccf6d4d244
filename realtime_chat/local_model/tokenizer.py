"""The bundled model's own tokenizer (its GGUF vocabulary, loaded without the weights), for exact prompt counts.

Importing this module imports llama.cpp: only the LLM factory does, lazily, when the bundled model is the one
a prompt is built for.
"""

import atexit
from pathlib import Path

from llama_cpp import Llama


class GgufTokenCounter:
    def __init__(self, model_path: Path) -> None:
        self._vocabulary = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
        atexit.register(self._vocabulary.close)  # freed while llama.cpp's bindings still exist, not at teardown

    def count(self, text: str) -> int:
        return len(self._vocabulary.tokenize(text.encode("utf-8"), add_bos=False, special=False))
