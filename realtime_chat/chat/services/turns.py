"""One chat turn, end to end: save the question, retrieve, stream the answer, persist it, tell every socket.

`chat_turn` is the action behind both the WebSocket and the REST/SSE endpoint: it broadcasts each frame to the
session's group (all tabs) and also yields it (for SSE). The user's message is saved before anything can fail;
the assistant's message exists from `assistant.start` and is always finished: complete, cancelled or error.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from rag.grounding import NOT_SEARCHED, Grounding, grounding_for, grounding_possible
from realtime_chat.accounts.models import User
from realtime_chat.chat import frames
from realtime_chat.chat.broadcast import session_broadcast
from realtime_chat.chat.frames import AssistantEndFrame, MessageData, ServerFrame
from realtime_chat.chat.models import ChatSession, Message, UserPreferences
from realtime_chat.chat.prompting import PromptParts, build_prompt
from realtime_chat.chat.selectors import message_history, session_get
from realtime_chat.chat.serializers import message_data
from realtime_chat.chat.services.chat import (
    assistant_message_finish,
    assistant_message_start,
    generation_lock_release,
    preferences_get,
    user_message_submit,
)
from realtime_chat.llm.errors import GenerationInterrupted, NoProviderAvailable
from realtime_chat.llm.factory import build_chain, token_counter
from realtime_chat.llm.types import ChatMessage, Finished, GenerationOptions, Started, Token

logger = logging.getLogger(__name__)
Frame = TypeVar("Frame", bound=ServerFrame)


@dataclass
class Answer:
    """What the stream produced so far; whatever happens, this is what gets saved."""

    message: Message | None = None
    parts: list[str] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_ms: float | None = None
    provider_first_token_ms: float | None = None
    lock_released: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class TurnContext:
    """What the answer is built from. `prompt` is ready unless passages must be retrieved first."""

    preferences: UserPreferences
    history: list[ChatMessage]
    prompt: list[ChatMessage] | None
    grounding: Grounding = NOT_SEARCHED


@dataclass
class TurnOpened:
    session: ChatSession
    question: Message
    duplicate: bool = False  # a retried client_id: the question was saved before, and nothing is to be answered
    context: TurnContext | None = None
    context_error: Exception | None = None  # raised again inside the answer, which then ends as an error


async def chat_turn(
    *, user: User, session_id: int, content: str, client_id: uuid.UUID | None = None
) -> AsyncIterator[ServerFrame]:
    """Raises ApplicationError (not found, invalid, busy, rate-limited) before the first frame; never after."""
    started = time.perf_counter()
    opening = asyncio.ensure_future(
        database_sync_to_async(_turn_open)(user=user, session_id=session_id, content=content, client_id=client_id)
    )
    try:
        opened = await asyncio.shield(opening)
    except asyncio.CancelledError:  # a stop or a disconnect while the question is being saved
        await asyncio.shield(_free_once_opened(opening))
        raise
    created = frames.message_created(
        message=message_data(opened.question), client_id=client_id, duplicate=opened.duplicate
    )
    if opened.duplicate:
        yield created  # a retry of a message already saved: answer the retry only
        return
    answer = Answer()
    try:
        yield await _emit(session_id, created)
        async for frame in _answer(user=user, opened=opened, answer=answer, started=started):
            yield frame
    finally:
        if not answer.lock_released:
            await asyncio.shield(database_sync_to_async(generation_lock_release)(session_id=session_id))


async def _answer(*, user: User, opened: TurnOpened, answer: Answer, started: float) -> AsyncIterator[ServerFrame]:
    session, grounding = opened.session, NOT_SEARCHED
    try:
        context = opened.context
        if context is None:  # it could not be built (a duplicate, which has neither, never gets here)
            raise opened.context_error or RuntimeError("the turn has no context")
        prompt = context.prompt
        grounding = context.grounding
        if prompt is None:
            grounding, prompt = await sync_to_async(_grounded_prompt)(
                user=user, question=opened.question.content, context=context
            )
        preferences = context.preferences
        options = GenerationOptions(
            model=preferences.model or None,
            temperature=preferences.temperature,
            top_p=preferences.top_p,
            max_tokens=preferences.max_tokens,
            passages=grounding.passages,
        )
        async for frame in _stream(session=session, prompt=prompt, options=options, answer=answer, started=started):
            yield frame
    except asyncio.CancelledError:
        await asyncio.shield(_cancelled(session, answer, grounding, started))
        raise
    except (GenerationInterrupted, NoProviderAvailable) as exc:
        reasons = list(getattr(exc, "reasons", ()))
        async for frame in _fail(session, answer, grounding, started, exc.code, exc.detail, reasons):
            yield frame
    except Exception:  # a bug must still end the turn visibly: logged, saved as an error, reported
        logger.exception("Chat turn failed in session %s", session.pk)
        detail = "Something went wrong while answering. The problem was logged; please try again."
        async for frame in _fail(session, answer, grounding, started, "server_error", detail, []):
            yield frame
    else:
        message = await _answer_message(session, answer)
        if grounding.searched:
            sources = grounding.sources(answer.text)
            yield await _emit(session.pk, frames.sources(message_id=message.pk, sources=sources))
        yield await _finish(message, answer, grounding, Message.Status.COMPLETE, started)


def _turn_open(*, user: User, session_id: int, content: str, client_id: uuid.UUID | None) -> TurnOpened:
    """Everything the turn needs before the provider, in one trip to the database thread (each trip is a thread
    hand-off, queued behind every other turn's): the question saved under the lock, then the context.

    An ApplicationError about the question propagates (nothing was saved, no frame sent); a failure after the
    question is saved is returned instead, so the turn can still report it and finish the answer as an error.
    """
    session = session_get(user=user, session_id=session_id)
    question, duplicate = user_message_submit(session=session, content=content, client_id=client_id)
    if duplicate:
        return TurnOpened(session=session, question=question, duplicate=True)
    try:
        context = _turn_context(user=user, session=session, question=question)
    except Exception as exc:  # noqa: BLE001  (raised again by `_answer`, which logs it and ends the turn)
        return TurnOpened(session=session, question=question, context_error=exc)
    return TurnOpened(session=session, question=question, context=context)


async def _free_once_opened(opening: asyncio.Future[TurnOpened]) -> None:
    """The thread finishes saving the question even if the turn is cancelled meanwhile: free the session then.
    If opening failed, the transaction that takes the lock was rolled back (or the lock is another turn's)."""
    await asyncio.wait([opening])
    if opening.exception() is not None:
        return
    opened = opening.result()
    if not opened.duplicate:
        await database_sync_to_async(generation_lock_release)(session_id=opened.session.pk)


def _turn_context(*, user: User, session: ChatSession, question: Message) -> TurnContext:
    """Preferences and history; the prompt too, unless passages must be retrieved for it first.

    Retrieval is skipped (a retriever round trip and a query embedding saved) when the user has no searchable
    document: it could only return nothing.
    """
    preferences = preferences_get(user=user)
    history = message_history(session=session, before_id=question.pk)
    context = TurnContext(preferences=preferences, history=history, prompt=None)
    if not preferences.use_rag or not grounding_possible(user=user):
        # Searched and found nothing when the user has no documents: the client still gets an empty `sources`.
        context.grounding = Grounding(searched=preferences.use_rag)
        context.prompt = _prompt(question=question.content, context=context, grounding=context.grounding)
    return context


def _grounded_prompt(*, user: User, question: str, context: TurnContext) -> tuple[Grounding, list[ChatMessage]]:
    previous_questions = [m.content for m in context.history if m.role == "user"]
    grounding = grounding_for(
        user=user, question=question, history=previous_questions, top_k=context.preferences.rag_top_k
    )
    return grounding, _prompt(question=question, context=context, grounding=grounding)


def _prompt(*, question: str, context: TurnContext, grounding: Grounding) -> list[ChatMessage]:
    parts = PromptParts(
        persona=context.preferences.system_prompt, rag_instructions=grounding.instructions, context=grounding.context
    )
    counter = token_counter(model=context.preferences.model or None)
    return build_prompt(question=question, history=context.history, parts=parts, counter=counter)


async def _stream(
    *, session: ChatSession, prompt: list[ChatMessage], options: GenerationOptions, answer: Answer, started: float
) -> AsyncIterator[ServerFrame]:
    provider_started = time.perf_counter()
    # aclosing: on stop or disconnect the HTTP stream closes at once, so the model server stops generating.
    async with aclosing(build_chain(preferred_model=options.model).stream(prompt, options)) as events:
        async for event in events:
            if isinstance(event, Started):
                answer.message = await database_sync_to_async(assistant_message_start)(
                    session=session, model=event.model, provider=event.provider, fallback_from=list(event.fallback_from)
                )
                start = frames.assistant_start(
                    message_id=answer.message.pk,
                    model=event.model,
                    provider=event.provider,
                    fallback_from=event.fallback_from,
                )
                yield await _emit(session.pk, start)
            elif isinstance(event, Token):
                if answer.message is None:
                    raise RuntimeError("a token before Started")  # every provider starts before its first token
                if answer.first_token_ms is None:
                    answer.first_token_ms = _ms_since(started)
                    answer.provider_first_token_ms = _ms_since(provider_started)
                answer.parts.append(event.delta)
                yield await _emit(session.pk, frames.token(message_id=answer.message.pk, delta=event.delta))
            elif isinstance(event, Finished):
                answer.prompt_tokens, answer.completion_tokens = event.prompt_tokens, event.completion_tokens


async def _fail(
    session: ChatSession,
    answer: Answer,
    grounding: Grounding,
    started: float,
    code: str,
    detail: str,
    fallback_from: list[str],
) -> AsyncIterator[ServerFrame]:
    """Finish the answer as an error (created now if no provider ever started it) and say why."""
    message = await _answer_message(session, answer, fallback_from)
    yield await _emit(session.pk, frames.error(code=code, detail=detail))
    yield await _finish(message, answer, grounding, Message.Status.ERROR, started, error=detail)


async def _cancelled(session: ChatSession, answer: Answer, grounding: Grounding, started: float) -> None:
    """Finish the answer as cancelled with what it has; stopped before any provider answered, it is created
    empty now, so that every turn a client saw begin also ends with `assistant.end`."""
    message = await _answer_message(session, answer)
    await _finish(message, answer, grounding, Message.Status.CANCELLED, started)


async def _answer_message(session: ChatSession, answer: Answer, fallback_from: Sequence[str] = ()) -> Message:
    """The answer's message: the one its provider started, or an empty one created now if none did."""
    if answer.message is None:
        answer.message = await database_sync_to_async(assistant_message_start)(
            session=session, model="", provider="", fallback_from=list(fallback_from)
        )
    return answer.message


async def _finish(
    message: Message, answer: Answer, grounding: Grounding, status: str, started: float, error: str = ""
) -> AssistantEndFrame:
    total_ms = _ms_since(started)
    message, data = await database_sync_to_async(_answer_save)(
        message=message,
        content=answer.text,
        status=status,
        error=error,
        sources=grounding.sources(answer.text),
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        first_token_ms=_int(answer.first_token_ms),
        total_ms=_int(total_ms),
    )
    answer.lock_released = True
    usage = frames.Usage(
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        first_token_ms=answer.first_token_ms,
        provider_first_token_ms=answer.provider_first_token_ms,
        total_ms=total_ms,
    )
    return await _emit(message.session_id, frames.assistant_end(message=data, usage=usage))


def _answer_save(*, message: Message, **fields: Any) -> tuple[Message, MessageData]:
    """Finish the answer (which frees the session) and build its frame data, in one trip to the database thread.
    The session is freed before clients hear that the answer ended, so a client may send its next message at once.
    """
    message = assistant_message_finish(message=message, **fields)
    return message, message_data(message)


async def _emit(session_id: int, frame: Frame) -> Frame:
    await session_broadcast(session_id, frame)
    return frame


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)
