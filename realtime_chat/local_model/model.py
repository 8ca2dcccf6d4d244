"""The one local model: loaded once, prompted with its own chat template, generating one request at a time.

llama.cpp is not thread-safe, so generations are serialised by an `asyncio.Lock` and run in a single worker
thread that hands text to the event loop through a queue. The worker checks a cancel flag between tokens
(llama.cpp calls our stopping criterion after each one), so a client that leaves frees the model at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llama_cpp import Llama, StoppingCriteriaList
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from realtime_chat.local_model.model_file import ModelFileMissing

# The share of the context a chat prompt may use; the rest is left for the answer.
PROMPT_SHARE_OF_CONTEXT = 0.75


class PromptTooLong(ValueError):
    """Even the last message alone does not fit the context window."""


class GenerationFailed(Exception):
    """llama.cpp raised while generating; the message says why."""


@dataclass(frozen=True, slots=True)
class Prompt:
    tokens: list[int]
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sampling:
    """Ollama's defaults (its Modelfile parameters), which the OpenAI endpoint shares."""

    temperature: float = 0.8
    top_p: float = 0.9
    top_k: int = 40
    repeat_penalty: float = 1.1
    max_tokens: int | None = None  # None: until the end of the answer or of the context
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @classmethod
    def given(
        cls,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        repeat_penalty: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: tuple[str, ...] = (),
    ) -> Sampling:
        """What a request set, and the defaults for what it left out (None)."""
        default = cls()
        return cls(
            temperature=default.temperature if temperature is None else temperature,
            top_p=default.top_p if top_p is None else top_p,
            top_k=default.top_k if top_k is None else top_k,
            repeat_penalty=default.repeat_penalty if repeat_penalty is None else repeat_penalty,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """The statistics of a finished generation; durations in nanoseconds, as Ollama reports them."""

    prompt_tokens: int
    completion_tokens: int
    done_reason: str
    load_ns: int
    prompt_eval_ns: int
    eval_ns: int
    total_ns: int


class LocalModel:
    """A GGUF model served under `name`. Build it with `LocalModel.load()`."""

    def __init__(self, llm: Llama, *, name: str, path: Path) -> None:
        self.llm = llm
        self.name = name
        self.path = path
        self.size = path.stat().st_size
        self.modified_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        self.digest = _sha256(path)
        self._formatter = _chat_formatter(llm)
        self._lock = asyncio.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._cancel_flags: set[threading.Event] = set()  # of the generations running or waiting

    @classmethod
    def load(cls, path: Path, *, name: str, context: int, threads: int) -> LocalModel:
        if not path.is_file():
            raise ModelFileMissing(f"No model file at {path}")
        llm = Llama(model_path=str(path), n_ctx=context, n_threads=threads, verbose=False)
        return cls(llm, name=name, path=path)

    @property
    def context_length(self) -> int:
        return self.llm.n_ctx()

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.llm.metadata)

    def answers_to(self, requested: str) -> bool:
        """Whether a request for `requested` means this model (a name without a tag means `:latest`)."""
        return requested == self.name or (":" not in requested and f"{requested}:latest" == self.name)

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> Prompt:
        """The templated prompt; like Ollama, the oldest non-system messages are dropped until it fits."""
        kept = list(messages)
        while True:
            # The template takes any role; llama-cpp's annotation lists OpenAI's message types only.
            rendered = self._formatter(messages=kept)  # type: ignore[arg-type]
            tokens = self.llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True)
            if len(tokens) <= self.context_length * PROMPT_SHARE_OF_CONTEXT:
                stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
                return Prompt(tokens=tokens, stop=tuple(stop))
            droppable = [i for i, message in enumerate(kept[:-1]) if message.get("role") != "system"]
            if not droppable:
                raise PromptTooLong(f"the prompt needs {len(tokens)} tokens; the context holds {self.context_length}")
            del kept[droppable[0]]

    def raw_prompt(self, text: str) -> Prompt:
        tokens = self.llm.tokenize(text.encode(), add_bos=True, special=True)
        if len(tokens) >= self.context_length:
            raise PromptTooLong(f"the prompt needs {len(tokens)} tokens; the context holds {self.context_length}")
        return Prompt(tokens=tokens)

    async def generate(self, prompt: Prompt, sampling: Sampling) -> AsyncGenerator[str | Completion, None]:
        """Yield text as it is generated, then one `Completion`. Closing the generator stops the generation."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | Completion | _End] = asyncio.Queue()
        job = _Job(prompt, sampling, emit=lambda item: loop.call_soon_threadsafe(queue.put_nowait, item))
        self._cancel_flags.add(job.cancelled)
        try:
            running = await self._start(job)
            while not isinstance(item := await queue.get(), _End):
                yield item
            try:
                await running
            except (ValueError, RuntimeError) as exc:  # what llama-cpp-python raises on a failed decode
                raise GenerationFailed(str(exc)) from exc
        finally:
            job.cancelled.set()
            self._cancel_flags.discard(job.cancelled)

    def cancel_all(self) -> None:
        """Stop every generation at its next token (the server is shutting down)."""
        for flag in list(self._cancel_flags):
            flag.set()

    async def complete(self, prompt: Prompt, sampling: Sampling) -> tuple[str, Completion]:
        """The whole answer at once, for clients that do not stream."""
        parts: list[str] = []
        async with contextlib.aclosing(self.generate(prompt, sampling)) as items:
            async for item in items:
                if isinstance(item, Completion):
                    return "".join(parts), item
                parts.append(item)
        raise GenerationFailed("the generation ended without a result")

    async def _start(self, job: _Job) -> asyncio.Future[None]:
        """Wait for the model, then run `job` in the worker thread; the model is free again when the thread is.

        The lock is released by the thread's completion, not by the caller, who may be gone by then.
        """
        waiting_since = time.perf_counter()
        await self._lock.acquire()
        job.load_ns = _ns_since(waiting_since)
        try:
            running = asyncio.get_running_loop().run_in_executor(self._worker, self._run, job)
        except BaseException:
            self._lock.release()
            raise
        running.add_done_callback(lambda _: self._lock.release())
        return running

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        self.llm.close()

    def _run(self, job: _Job) -> None:
        """Runs in the worker thread: the only place that touches the llama context while generating."""
        try:
            if not job.cancelled.is_set():  # cancelled while it waited for the model
                job.emit_all(self._complete(job))
        finally:
            job.emit(_End())

    def _complete(self, job: _Job) -> Iterator[str | Completion]:
        started = time.perf_counter()
        meter = _Meter(job.cancelled)
        sampling = job.sampling
        chunks = self.llm.create_completion(
            prompt=job.prompt.tokens,
            max_tokens=sampling.max_tokens if sampling.max_tokens and sampling.max_tokens > 0 else None,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            repeat_penalty=sampling.repeat_penalty,
            seed=sampling.seed,
            stop=[*job.prompt.stop, *sampling.stop],
            stopping_criteria=StoppingCriteriaList([meter]),
            stream=True,
        )
        if not isinstance(chunks, Generator):  # stream=True: llama-cpp's annotation also allows a whole completion
            raise TypeError(f"llama-cpp returned a {type(chunks).__name__} for a streamed completion")
        done_reason = "stop"
        with contextlib.closing(chunks):
            for chunk in chunks:
                if job.cancelled.is_set():
                    return
                choice = chunk["choices"][0]
                if choice["text"]:
                    yield choice["text"]
                done_reason = choice["finish_reason"] or done_reason
        if job.cancelled.is_set():
            return
        ended = time.perf_counter()
        first = meter.first_token_at or ended
        yield Completion(
            prompt_tokens=len(job.prompt.tokens),
            completion_tokens=meter.sampled_tokens,
            done_reason=done_reason,
            load_ns=job.load_ns,
            prompt_eval_ns=int((first - started) * 1e9),
            eval_ns=int((ended - first) * 1e9),
            total_ns=job.load_ns + int((ended - started) * 1e9),
        )


@dataclass(eq=False)
class _Job:
    prompt: Prompt
    sampling: Sampling
    emit: Callable[[Any], object]
    cancelled: threading.Event = field(default_factory=threading.Event)
    load_ns: int = 0

    def emit_all(self, items: Iterator[str | Completion]) -> None:
        for item in items:
            self.emit(item)


class _End:
    """Put on the queue by the worker when it is done, whatever happened."""


@dataclass(eq=False)
class _Meter:
    """A llama.cpp stopping criterion: times the first token, counts tokens, and obeys the cancel flag.

    llama-cpp-python calls it after every sampled token, and once more when the generation ends.
    """

    cancelled: threading.Event
    calls: int = 0
    first_token_at: float | None = None

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.calls += 1
        return self.cancelled.is_set()

    @property
    def sampled_tokens(self) -> int:
        """Tokens generated, the end-of-generation token included; valid once the generation has ended."""
        return max(self.calls - 1, 0)


def _chat_formatter(llm: Llama) -> Jinja2ChatFormatter:
    """The model's own chat template from the GGUF metadata, as llama-cpp-python builds it."""
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelFileMissing("The GGUF file has no chat template (tokenizer.chat_template)")
    return Jinja2ChatFormatter(
        template=template,
        eos_token=llm.detokenize([llm.token_eos()], special=True).decode(errors="ignore"),
        bos_token=llm.detokenize([llm.token_bos()], special=True).decode(errors="ignore"),
        stop_token_ids=[llm.token_eos()],
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ns_since(start: float) -> int:
    return int((time.perf_counter() - start) * 1e9)
