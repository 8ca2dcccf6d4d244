"""Real sockets for the LLM tests: a dead port, a black hole (the model servers are in tests/conftest.py)."""

import socket
from collections.abc import Iterator

import pytest

from realtime_chat.llm.types import Timeouts
from tests.servers import free_port


@pytest.fixture
def closed_port_url() -> str:
    """An address where nothing listens: connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def black_hole_url() -> Iterator[str]:
    """A real listener that never accepts or answers: the kernel completes the handshake, then silence."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def quick_timeouts() -> Timeouts:
    return Timeouts(connect=2.0, first_token=1.0, idle=5.0)


@pytest.fixture
def patient_timeouts() -> Timeouts:
    return Timeouts(connect=5.0, first_token=30.0, idle=15.0)
