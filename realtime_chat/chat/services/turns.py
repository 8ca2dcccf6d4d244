"""One chat turn, end to end: save the question, retrieve, stream the answer, persist it, tell every socket.

`chat_turn` is the action behind both the WebSocket and the REST/SSE endpoint: it broadcasts each frame to the
session's group (all tabs, all processes) and also yields it (for SSE). The user's message is saved before anything
can fail, with the assistant's (empty, `streaming`) in the same trip to the database; the answer is always finished:
complete, cancelled or error. Callers detach the rest of the turn from the socket that asked (`chat.live`), so only
`stop` or the generation timeout ends it early. Streamed text goes out once per flush window, with its offset.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from rag.grounding import NOT_SEARCHED, Grounding, grounding_for, grounding_possible
from realtime_chat.accounts.models import User
from realtime_chat.chat import frames
from realtime_chat.chat.answer_store import answer_store
from realtime_chat.chat.broadcast import session_broadcast
from realtime_chat.chat.budget import BudgetExceeded, token_budget_check
from realtime_chat.chat.frames import AssistantEndFrame, MessageData, ServerFrame, TokenFrame
from realtime_chat.chat.live import StopRequests, heartbeat, stop_requests
from realtime_chat.chat.models import ChatSession, Message
from realtime_chat.chat.prompting import PromptParts, build_prompt
from realtime_chat.chat.selectors import message_history, session_access, speaker_named
from realtime_chat.chat.serializers import message_data
from realtime_chat.chat.services.chat import (
    assistant_is_asked,
    assistant_message_discard,
    assistant_message_finish,
    assistant_message_start,
    generation_lock_release,
    preferences_get,
    user_message_submit,
)
from realtime_chat.chat.services.images import image_input_prepare
from realtime_chat.chat.services.memories import memories_for_turn, memory_proposals, remember_from_message
from realtime_chat.chat.services.personas import TurnSettings, session_persona, turn_settings
from realtime_chat.core.database_threads import database_parallel_async
from realtime_chat.core.metrics import REFUSED_TURNS
from realtime_chat.llm.errors import GenerationInterrupted, NoProviderAvailable
from realtime_chat.llm.factory import build_chain, token_counter
from realtime_chat.llm.types import (
    ChatMessage,
    EventStream,
    Finished,
    GenerationOptions,
    Queued,
    Started,
    StreamEvent,
    Token,
)
from realtime_chat.memory.models import Memory
from realtime_chat.memory.recall import memory_block
from realtime_chat.memory.selectors import memory_exists

logger = logging.getLogger(__name__)
READER_SLICE_SECONDS = 0.002
# After the answer starts, the reader yields after every event for this long: the first frames cross several hand-offs
# (the channel layer, each socket's consumer task, daphne) that each wait behind a slice of a fast model's parsing.
FIRST_FRAMES_SECONDS = 0.02
Frame = TypeVar("Frame", bound=ServerFrame)


@dataclass
class Answer:
    """What the stream produced so far; whatever happens, this is what gets saved."""

    message: Message
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

    preferences: TurnSettings  # the asker's preferences, overridden by the session's persona
    history: list[ChatMessage]
    prompt: list[ChatMessage] | None
    question: str  # as the model reads it: in a shared session, the speaker's name first
    grounding: Grounding = NOT_SEARCHED
    search_due: bool = True  # passages are to be retrieved before the prompt is built
    recall_due: bool = False  # the asker's memories are to be recalled before the prompt is built
    memories: list[Memory] = field(default_factory=list)


@dataclass
class TurnOpened:
    session: ChatSession
    question: Message
    answer: Message | None = None  # None only for a duplicate
    duplicate: bool = False  # a retried client_id: the question was saved before, and nothing is to be answered
    context: TurnContext | None = None
    context_error: Exception | None = None  # raised again inside the answer, which then ends as an error
    notice: ServerFrame | None = None  # for the asker alone: a "remember ..." message saved (or why not)
    refusal: BudgetExceeded | None = None  # the question is saved, but the assistant will not answer it


async def chat_turn(
    *,
    user: User,
    session_id: int,
    content: str,
    client_id: uuid.UUID | None = None,
    attachments: Sequence[int] = (),
) -> AsyncIterator[ServerFrame]:
    """Raises ApplicationError (not found, invalid, busy, rate-limited) before the first frame; never after."""
    started = time.perf_counter()
    opening = asyncio.ensure_future(
        database_parallel_async(_turn_open)(
            user=user, session_id=session_id, content=content, client_id=client_id, attachments=attachments
        )
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
    if opened.refusal is not None:  # everyone sees the question; the asker's sockets alone hear why, after it
        yield await _emit(session_id, created)
        if opened.notice is not None:
            yield await _tell_asker(session_id, opened, user)
        refused = frames.error_from(opened.refusal, client_id=client_id)
        yield await _emit(session_id, refused, only_user=user.username)
        return
    if opened.answer is None:  # said to the people of the room, not to the assistant (`mention` mode)
        yield await _emit(session_id, created)
        if opened.notice is not None:
            yield await _tell_asker(session_id, opened, user)
        return
    answer = Answer(message=opened.answer)
    try:
        async with stop_requests(session_id) as stops:  # heard before anyone can see the turn and ask to stop it
            yield await _emit(session_id, created)
            if opened.notice is not None:
                yield await _tell_asker(session_id, opened, user)
            async for frame in _answer(user=user, opened=opened, answer=answer, started=started, stops=stops):
                yield frame
    finally:
        if not answer.lock_released:
            await asyncio.shield(database_sync_to_async(generation_lock_release)(session_id=session_id))


async def _answer(
    *, user: User, opened: TurnOpened, answer: Answer, started: float, stops: StopRequests
) -> AsyncIterator[ServerFrame]:
    session, grounding = opened.session, NOT_SEARCHED
    try:
        with stops.cancelling_current_task():  # a stop from now on (or one heard already) ends the answer
            context = opened.context
            if context is None:  # it could not be built (a duplicate, which has neither, never gets here)
                raise opened.context_error or RuntimeError("the turn has no context")
            prompt = context.prompt
            grounding = context.grounding
            question_images = list(opened.question.attachments.all())  # prefetched when the question was saved
            images = await image_input_prepare(attachments=question_images, model=context.preferences.model or None)
            if images.mode:
                answer.message.image_input = images.mode  # saved with the answer
                context.question = images.question(context.question)
                if prompt is not None:  # built before the images' text was known
                    prompt = await sync_to_async(_prompt)(
                        question=context.question, context=context, grounding=grounding
                    )
            if prompt is None:
                grounding, prompt = await sync_to_async(_grounded_prompt)(user=user, context=context)
            prompt = images.attach(prompt)
            _record_who_answers(answer.message, context)
            preferences = context.preferences
            options = GenerationOptions(
                model=preferences.model or None,
                temperature=preferences.temperature,
                top_p=preferences.top_p,
                max_tokens=preferences.max_tokens,
                passages=grounding.passages,
                asker=str(user.pk),
            )
            async with (
                heartbeat(session_id=session.pk, message_id=answer.message.pk, text_so_far=lambda: answer.text),
                asyncio.timeout(settings.CHAT_GENERATION_TIMEOUT_SECONDS),
            ):
                async for frame in _stream(
                    session=session, prompt=prompt, options=options, answer=answer, started=started
                ):
                    yield frame
    except TimeoutError:
        detail = f"The answer took longer than {settings.CHAT_GENERATION_TIMEOUT_SECONDS} s and was ended."
        async for frame in _fail(session, answer, grounding, started, "generation_timeout", detail, []):
            yield frame
    except asyncio.CancelledError:
        end = await asyncio.shield(_cancelled(session, answer, grounding, started))
        if not stops.stopped():  # the process shutting down, say: cancelled it stays
            raise
        yield end
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
        message = answer.message
        if grounding.searched:
            sources = grounding.sources(answer.text)
            yield await _emit(session.pk, frames.sources(message_id=message.pk, sources=sources))
        yield await _finish(message, answer, grounding, Message.Status.COMPLETE, started)
        if context.preferences.memory_auto and context.preferences.memory_enabled:
            proposals = await memory_proposals(question=opened.question.content, model=options.model)
            proposed = frames.memory_proposed(message_id=message.pk, proposals=proposals)
            yield await _emit(session.pk, proposed, only_user=user.username)


def _turn_open(
    *, user: User, session_id: int, content: str, client_id: uuid.UUID | None, attachments: Sequence[int] = ()
) -> TurnOpened:
    """Everything the turn needs before the provider, in one trip to the database thread (each trip is a thread
    hand-off, queued behind every other turn's): the question saved under the lock, then the context.

    An ApplicationError about the question propagates (nothing was saved, no frame sent); a failure after the
    question is saved is returned instead, so the turn can still report it and finish the answer as an error.
    """
    access = session_access(user=user, session_id=session_id)
    session = access.session
    asked = assistant_is_asked(session=session, content=content)
    refusal = None
    if asked and access.can_write:
        try:
            token_budget_check(user=user)  # a read: decided before the writes, so a refused turn takes no lock
        except BudgetExceeded as exc:
            refusal = exc
    # The question, the session's lock and the (empty, streaming) answer in one write transaction: SQLite lets one
    # transaction write at a time, and when many people ask at once each turn queues for that once, not twice.
    with transaction.atomic():
        question, duplicate = user_message_submit(
            session=session,
            content=content,
            client_id=client_id,
            author=user,
            can_write=access.can_write,
            attachment_ids=attachments,
            answering=refusal is None,
        )
        answer = None
        if asked and refusal is None and not duplicate:
            answer = assistant_message_start(session=session, model="", provider="", fallback_from=[], asked_by=user)
    if duplicate:
        return TurnOpened(session=session, question=question, duplicate=True)
    notice = remember_from_message(user=user, session_id=session.pk, content=question.content)
    if refusal is not None:  # the question is saved; no model is called (a retry or an invalid message never gets here)
        REFUSED_TURNS.labels(code=refusal.code).inc()
        return TurnOpened(session=session, question=question, refusal=refusal, notice=notice)
    if answer is None:
        return TurnOpened(session=session, question=question, notice=notice)
    opened = TurnOpened(session=session, question=question, answer=answer, notice=notice)
    try:
        opened.context = _turn_context(user=user, session=session, question=question, shared=access.shared)
    except Exception as exc:  # noqa: BLE001  (raised again by `_answer`, which logs it and ends the turn)
        opened.context_error = exc
    return opened


async def _free_once_opened(opening: asyncio.Future[TurnOpened]) -> None:
    """The thread finishes saving the question even if the turn is cancelled meanwhile: free the session then.
    If opening failed, the transaction that takes the lock was rolled back (or the lock is another turn's)."""
    await asyncio.wait([opening])
    if opening.exception() is not None:
        return
    opened = opening.result()
    if opened.answer is not None:
        await database_sync_to_async(assistant_message_discard)(message=opened.answer)


def _turn_context(*, user: User, session: ChatSession, question: Message, shared: bool) -> TurnContext:
    """Preferences and history; the prompt too, unless passages must be retrieved for it first.

    Retrieval is skipped (a retriever round trip and a query embedding saved) when the user has no searchable
    document: it could only return nothing.
    """
    preferences = turn_settings(preferences=preferences_get(user=user), persona=session_persona(session=session))
    history = message_history(session=session, before_id=question.pk, named=shared)
    asked = speaker_named(question.content, user.username) if shared else question.content
    context = TurnContext(preferences=preferences, history=history, prompt=None, question=asked)
    context.recall_due = preferences.memory_enabled and memory_exists(user=user)
    if not preferences.use_rag or not grounding_possible(user=user):
        # Searched and found nothing when the user has no documents: the client still gets an empty `sources`.
        context.grounding = Grounding(searched=preferences.use_rag)
        context.search_due = False
    if not context.search_due and not context.recall_due:
        context.prompt = _prompt(question=context.question, context=context, grounding=context.grounding)
    return context


def _grounded_prompt(*, user: User, context: TurnContext) -> tuple[Grounding, list[ChatMessage]]:
    """Passages from the asking person's own documents and shared ones, and the asking person's memories (in a
    room, never another member's)."""
    grounding = context.grounding
    if context.search_due:
        previous_questions = [m.content for m in context.history if m.role == "user"]
        grounding = grounding_for(
            user=user, question=context.question, history=previous_questions, top_k=context.preferences.rag_top_k
        )
    if context.recall_due:
        context.memories = memories_for_turn(user=user, settings=context.preferences, question=context.question)
    return grounding, _prompt(question=context.question, context=context, grounding=grounding)


def _prompt(*, question: str, context: TurnContext, grounding: Grounding) -> list[ChatMessage]:
    parts = PromptParts(
        persona=context.preferences.system_prompt,
        memories=memory_block(context.memories),
        rag_instructions=grounding.instructions,
        context=grounding.context,
    )
    counter = token_counter(model=context.preferences.model or None)
    return build_prompt(question=question, history=context.history, parts=parts, counter=counter)


def _record_who_answers(message: Message, context: TurnContext) -> None:
    """The persona and memories the answer is built from: in `assistant.start`, and saved with the answer."""
    message.persona_id = context.preferences.persona_id
    message.persona_name = context.preferences.persona_name
    message.memories_used = [memory.pk for memory in context.memories]


async def _tell_asker(session_id: int, opened: TurnOpened, user: User) -> ServerFrame:
    """The turn's notice, to the asker's sockets only (a room's other people never see their memories)."""
    notice = opened.notice
    if notice is None:
        raise RuntimeError("the turn has no notice")
    return await _emit(session_id, notice, only_user=user.username)


async def _stream(
    *, session: ChatSession, prompt: list[ChatMessage], options: GenerationOptions, answer: Answer, started: float
) -> AsyncIterator[ServerFrame]:
    """Relay the provider's events: `assistant.start`, then the text once per flush window (the first token at
    once), each window's text appended to the answer store before its frame goes out, so that a socket reading a
    snapshot can only ever get a frame twice (and drop it), never miss one."""
    provider_started = time.perf_counter()
    batch = TokenBatch(session_id=session.pk, message=answer.message)
    events: asyncio.Queue[StreamEvent | BaseException | None] = asyncio.Queue()
    # A reader task, so the flush window can close while no token arrives (an async generator must not be
    # cancelled mid-step); closing the stream on the way out closes the HTTP response: the model stops.
    reader = asyncio.create_task(_read(build_chain(preferred_model=options.model).stream(prompt, options), events))
    try:
        while True:
            if batch.pending and events.empty():
                try:
                    async with asyncio.timeout_at(batch.due):
                        event = await events.get()
                except TimeoutError:
                    yield await batch.flush()
                    continue
            else:
                event = await events.get()
            if event is None:
                break
            if isinstance(event, BaseException):
                raise event
            if isinstance(event, Token):
                if answer.first_token_ms is None:
                    answer.first_token_ms = _ms_since(started)
                    answer.provider_first_token_ms = _ms_since(provider_started)
                answer.parts.append(event.delta)
                if batch.add(event.delta):
                    yield await batch.flush()
            elif isinstance(event, Started):
                yield await _started(session, answer, event)
            elif isinstance(event, Queued):
                queued = frames.assistant_queued(
                    message_id=answer.message.pk, provider=event.provider, position=event.position
                )
                yield await _emit(session.pk, queued)
            elif isinstance(event, Finished):
                answer.prompt_tokens, answer.completion_tokens = event.prompt_tokens, event.completion_tokens
        if batch.pending:
            yield await batch.flush()
    finally:
        reader.cancel()
        await asyncio.wait([reader])


async def _read(stream: EventStream, events: asyncio.Queue[StreamEvent | BaseException | None]) -> None:
    """Queue the provider's events, then None; a failure is queued to be raised where the turn handles it."""
    try:
        loop = asyncio.get_running_loop()
        paused_at, slicing_from = loop.time(), float("inf")
        async with aclosing(stream) as provider_events:
            async for event in provider_events:
                events.put_nowait(event)
                now = loop.time()
                if isinstance(event, Started):
                    slicing_from = now + FIRST_FRAMES_SECONDS
                # A fast model's buffered lines parse without ever waiting: every READER_SLICE_SECONDS, let the
                # turn send what it has (not after every token: a pause per token doubled the CPU a token costs).
                if now < slicing_from or now - paused_at > READER_SLICE_SECONDS:
                    await asyncio.sleep(0)
                    paused_at = now
    except Exception as exc:  # noqa: BLE001  (handed over, and raised again by the turn, which handles or logs it)
        events.put_nowait(exc)
    else:
        events.put_nowait(None)


async def _started(session: ChatSession, answer: Answer, event: Started) -> ServerFrame:
    message = answer.message
    message.model, message.provider, message.fallback_from = event.model, event.provider, list(event.fallback_from)
    begun = answer_store().begin(session.pk, message_id=message.pk, model=event.model, provider=event.provider)
    start = frames.assistant_start(
        message_id=message.pk, model=event.model, provider=event.provider, fallback_from=event.fallback_from,
        persona_id=message.persona_id, persona_name=message.persona_name, memories_used=message.memories_used,
    )  # fmt: skip
    return await _emit(session.pk, start, after=begun)  # its text kept before any reader sees it


class TokenBatch:
    """The text not yet sent, and when it is due: at once for the first token (time to first token is what a
    reader feels), then at most once per `CHAT_STREAM_FLUSH_MS`, however fast the model."""

    def __init__(self, *, session_id: int, message: Message) -> None:
        self.session_id, self.message_id = session_id, message.pk
        self.window = settings.CHAT_STREAM_FLUSH_MS / 1000
        self.loop = asyncio.get_running_loop()
        self.pending: list[str] = []
        self.offset = 0  # where the next frame's text starts in the answer
        self.due = self.loop.time()

    def add(self, delta: str) -> bool:
        """Whether the batch is due now."""
        self.pending.append(delta)
        return self.loop.time() >= self.due

    async def flush(self) -> TokenFrame:
        delta = "".join(self.pending)
        self.pending.clear()
        frame = frames.token(message_id=self.message_id, delta=delta, offset=self.offset)
        self.offset += len(delta)
        self.due = self.loop.time() + self.window
        appended = answer_store().append(self.session_id, delta)
        return await _emit(self.session_id, frame, after=appended)  # kept before any reader sees it


async def _fail(
    session: ChatSession,
    answer: Answer,
    grounding: Grounding,
    started: float,
    code: str,
    detail: str,
    fallback_from: list[str],
) -> AsyncIterator[ServerFrame]:
    """Finish the answer as an error and say why (`fallback_from`: why each provider was skipped, if none began)."""
    if fallback_from:
        answer.message.fallback_from = fallback_from
    yield await _emit(session.pk, frames.error(code=code, detail=detail))
    yield await _finish(answer.message, answer, grounding, Message.Status.ERROR, started, error=detail)


async def _cancelled(session: ChatSession, answer: Answer, grounding: Grounding, started: float) -> AssistantEndFrame:
    """Finish the answer as cancelled with what it has (empty if stopped before any provider answered), so that
    every turn a client saw begin also ends with `assistant.end`."""
    return await _finish(answer.message, answer, grounding, Message.Status.CANCELLED, started)


async def _finish(
    message: Message, answer: Answer, grounding: Grounding, status: str, started: float, error: str = ""
) -> AssistantEndFrame:
    total_ms = _ms_since(started)
    message, data = await database_parallel_async(_answer_save)(
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
    await answer_store().end(message.session_id)  # saved: a socket opening now reads the history instead
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


async def _emit(
    session_id: int, frame: Frame, *, only_user: str | None = None, after: Awaitable[object] | None = None
) -> Frame:
    await session_broadcast(session_id, frame, only_user=only_user, after=after)
    return frame


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)
