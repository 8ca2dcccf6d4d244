"""The local model server answers like Ollama: checked with the official `ollama` client and raw HTTP."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import ollama
import pytest

from tests.servers import HTTP_TIMEOUT_SECONDS, MODEL_NAME, LocalModelServer

pytestmark = pytest.mark.llm

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
# The abandoned answer's 2000 tokens would hold the model for tens of seconds; one token is what it may finish.
MODEL_FREED_WITHIN_NS = 3_000_000_000


@pytest.fixture
async def client(local_server: LocalModelServer) -> AsyncIterator[ollama.AsyncClient]:
    async with ollama.AsyncClient(host=local_server.url) as client:
        yield client


async def test_root_and_version_answer_like_ollama(local_server: LocalModelServer) -> None:
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        root, head, version = await http.get("/"), await http.head("/"), await http.get("/api/version")
    assert root.text == "Ollama is running"
    assert head.status_code == 200
    assert isinstance(version.json()["version"], str)


async def test_tags_list_the_served_model(client: ollama.AsyncClient) -> None:
    listing = await client.list()
    [model] = listing.models
    assert model.model == MODEL_NAME
    assert model.size > 1_000_000
    assert len(model.digest) == 64
    assert model.details.format == "gguf"
    assert model.details.family == "llama"
    assert model.details.quantization_level == "Q4_1"


async def test_show_describes_the_model(client: ollama.AsyncClient) -> None:
    shown = await client.show(MODEL_NAME)
    assert "<|im_start|>" in shown.template
    assert shown.details.parameter_size == "135M"
    assert shown.modelinfo["general.architecture"] == "llama"
    assert shown.modelinfo["llama.context_length"] == 8192


async def test_ps_lists_the_loaded_model(client: ollama.AsyncClient) -> None:
    running = await client.ps()
    [model] = running.models
    assert model.name == MODEL_NAME
    assert model.context_length == 2048


async def test_chat_streams_tokens_then_a_final_chunk_with_counts(client: ollama.AsyncClient) -> None:
    parts = [part async for part in await client.chat(MODEL_NAME, QUESTION, stream=True, options={"num_predict": 16})]
    *pieces, final = parts
    assert pieces
    assert all(not part.done and part.message.role == "assistant" for part in pieces)
    assert "".join(part.message.content for part in pieces).strip()
    assert final.done
    assert final.done_reason in {"stop", "length"}
    assert final.prompt_eval_count > 10
    assert 0 < final.eval_count <= 16
    assert final.total_duration >= final.prompt_eval_duration + final.eval_duration > 0


async def test_chat_stops_at_num_predict(client: ollama.AsyncClient) -> None:
    request = [{"role": "user", "content": "Write a long story about a dragon."}]
    answer = await client.chat(MODEL_NAME, request, options={"num_predict": 8})
    assert answer.done_reason == "length"
    assert answer.eval_count == 8


async def test_chat_without_streaming_returns_one_object(client: ollama.AsyncClient) -> None:
    answer = await client.chat(MODEL_NAME, QUESTION, stream=False, options={"num_predict": 16})
    assert answer.done
    assert answer.message.role == "assistant"
    assert answer.message.content.strip()
    assert answer.eval_count > 0


async def test_same_seed_gives_the_same_answer(client: ollama.AsyncClient) -> None:
    options = {"num_predict": 12, "seed": 42, "temperature": 0.9}
    first = await client.chat(MODEL_NAME, QUESTION, options=options)
    second = await client.chat(MODEL_NAME, QUESTION, options=options)
    assert first.message.content == second.message.content


async def test_stop_strings_end_the_answer_before_them(client: ollama.AsyncClient) -> None:
    options = {"num_predict": 16, "temperature": 0, "seed": 1}
    free = (await client.chat(MODEL_NAME, QUESTION, options=options)).message.content
    stop = free.split()[2]  # a word the model is going to write
    stopped = await client.chat(MODEL_NAME, QUESTION, options={**options, "stop": [stop]})
    assert stopped.done_reason == "stop"
    assert stopped.message.content == free[: free.index(stop)]


async def test_generate_streams_a_response(client: ollama.AsyncClient) -> None:
    parts = [
        part
        async for part in await client.generate(MODEL_NAME, "Name a colour.", stream=True, options={"num_predict": 8})
    ]
    assert "".join(part.response for part in parts).strip()
    assert parts[-1].done
    assert parts[-1].eval_count > 0


async def test_generate_with_an_empty_prompt_loads_the_model(client: ollama.AsyncClient) -> None:
    answer = await client.generate(MODEL_NAME, "")
    assert answer.done
    assert answer.done_reason == "load"


async def test_unknown_model_is_404(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError) as raised:
        await client.chat("llama3:70b", QUESTION)
    assert raised.value.status_code == 404
    assert raised.value.error == 'model "llama3:70b" not found, try pulling it first'


async def test_bad_json_is_400_with_an_error(local_server: LocalModelServer) -> None:
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        response = await http.post("/api/chat", content=b'{"model": ')
    assert response.status_code == 400
    assert "error" in response.json()


async def test_wrongly_typed_option_is_400(local_server: LocalModelServer) -> None:
    body = {"model": MODEL_NAME, "messages": QUESTION, "options": {"temperature": "hot"}}
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        response = await http.post("/api/chat", json=body)
    assert response.status_code == 400
    assert "temperature" in response.json()["error"]


async def test_a_message_longer_than_the_context_is_400(local_server: LocalModelServer) -> None:
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "lorem ipsum " * 2000}]}
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        response = await http.post("/api/chat", json=body)
    assert response.status_code == 400
    assert "context" in response.json()["error"]


async def test_openai_bad_input_is_400_in_openai_shape(local_server: LocalModelServer) -> None:
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        response = await http.post("/v1/chat/completions", json={"model": MODEL_NAME, "messages": "hello"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_openai_models_lists_the_served_model(local_server: LocalModelServer) -> None:
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        listing = (await http.get("/v1/models")).json()
    assert listing["object"] == "list"
    assert [entry["id"] for entry in listing["data"]] == [MODEL_NAME]


async def test_openai_chat_completion_without_streaming(local_server: LocalModelServer) -> None:
    body = {"model": MODEL_NAME, "messages": QUESTION, "max_tokens": 8}
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        answer = (await http.post("/v1/chat/completions", json=body)).json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"].strip()
    assert answer["choices"][0]["finish_reason"] in {"stop", "length"}
    assert answer["usage"]["total_tokens"] == answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"]


async def test_openai_streaming_ends_with_usage_and_done(local_server: LocalModelServer) -> None:
    body = {
        "model": MODEL_NAME,
        "messages": QUESTION,
        "max_tokens": 8,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        response = await http.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk["choices"]).strip()
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_openai_unknown_model_is_404(local_server: LocalModelServer) -> None:
    async with httpx.AsyncClient(base_url=local_server.url, timeout=HTTP_TIMEOUT_SECONDS) as http:
        response = await http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": QUESTION})
    assert response.status_code == 404
    assert "not found" in response.json()["error"]["message"]


async def test_a_client_that_leaves_mid_stream_frees_the_model(client: ollama.AsyncClient) -> None:
    story = [{"role": "user", "content": "Write a very long story about a dragon and a knight."}]
    parts = await client.chat(MODEL_NAME, story, stream=True, options={"num_predict": 2000})
    received = 0
    async for _part in parts:
        received += 1
        if received == 3:
            break
    await parts.aclose()  # drops the HTTP response: the server must notice and stop generating

    answer = await client.chat(MODEL_NAME, QUESTION, options={"num_predict": 8})
    assert answer.eval_count > 0
    assert answer.load_duration < MODEL_FREED_WITHIN_NS  # the time it waited for the model


async def test_sigterm_mid_answer_stops_the_server_cleanly(doomed_server: LocalModelServer) -> None:
    story = [{"role": "user", "content": "Write a very long story about a dragon and a knight."}]
    async with ollama.AsyncClient(host=doomed_server.url) as client:
        parts = await client.chat(MODEL_NAME, story, stream=True, options={"num_predict": 2000})
        await anext(parts)
        exit_code = await asyncio.to_thread(doomed_server.stop)
        await parts.aclose()
    assert exit_code == 0
