"""The fair queue in front of a model server: round-robin across askers, fewest places first, positions that move
up, a wait that can be given up or run out. Real asyncio tasks, no model."""

import asyncio

import pytest

from realtime_chat.llm.queueing import FairQueue

FAR = 3600.0


class Turn:
    """A task that waits for a place, records its positions and when it got in, and holds it until `done`."""

    def __init__(self, queue: FairQueue, asker: str, served: list[str], name: str) -> None:
        self.positions: list[int] = []
        self.admitted = asyncio.Event()
        self.done = asyncio.Event()
        self.task = asyncio.create_task(self._run(queue, asker, served, name))

    async def _run(self, queue: FairQueue, asker: str, served: list[str], name: str) -> None:
        async with queue.place(asker) as place:
            deadline = asyncio.get_running_loop().time() + FAR
            async for position in place.positions(deadline=deadline):
                self.positions.append(position)
            served.append(name)
            self.admitted.set()
            await self.done.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def serve_all(turns: list[Turn]) -> None:
    """Let each admitted turn finish, one at a time, until all have run."""
    while not all(turn.task.done() for turn in turns):
        for turn in turns:
            if turn.admitted.is_set() and not turn.done.is_set():
                turn.done.set()
                break
        await settle()


async def test_one_askers_many_turns_do_not_go_before_anyone_elses() -> None:
    queue, served = FairQueue(1), []
    running = Turn(queue, "carol", served, "carol-1")
    await settle()
    alice = [Turn(queue, "alice", served, f"alice-{n}") for n in range(1, 4)]
    await settle()
    bob = Turn(queue, "bob", served, "bob-1")
    await settle()
    assert [turn.positions[-1] for turn in [*alice, bob]] == [1, 3, 4, 2]

    await serve_all([running, *alice, bob])
    assert served == ["carol-1", "alice-1", "bob-1", "alice-2", "alice-3"]


async def test_someone_with_nothing_running_goes_before_someone_whose_answer_runs() -> None:
    queue, served = FairQueue(1), []
    first = Turn(queue, "alice", served, "alice-1")
    await settle()
    second = Turn(queue, "alice", served, "alice-2")
    await settle()
    bob = Turn(queue, "bob", served, "bob-1")
    await settle()
    assert (second.positions, bob.positions) == ([1, 2], [1])

    await serve_all([first, second, bob])
    assert served == ["alice-1", "bob-1", "alice-2"]


async def test_the_limit_is_how_many_run_at_once() -> None:
    queue, served = FairQueue(2), []
    turns = [Turn(queue, f"user{n}", served, f"user{n}") for n in range(3)]
    await settle()
    assert [turn.admitted.is_set() for turn in turns] == [True, True, False]
    assert (queue.running, queue.waiting) == (2, 1)
    await serve_all(turns)
    assert (queue.running, queue.waiting) == (0, 0)


async def test_a_turn_given_up_while_waiting_leaves_its_spot_to_the_next() -> None:
    queue, served = FairQueue(1), []
    running = Turn(queue, "alice", served, "alice-1")
    await settle()
    leaving, staying = Turn(queue, "bob", served, "bob-1"), Turn(queue, "carol", served, "carol-1")
    await settle()
    assert staying.positions == [2]
    leaving.task.cancel()
    await settle()
    assert staying.positions == [2, 1] and queue.waiting == 1

    await serve_all([running, staying])
    assert served == ["alice-1", "carol-1"] and queue.running == 0


async def test_a_wait_past_its_deadline_raises_timeout_and_frees_its_spot() -> None:
    queue = FairQueue(1)
    async with queue.place("alice"):
        async with queue.place("bob") as place:
            deadline = asyncio.get_running_loop().time() + 0.05
            with pytest.raises(TimeoutError):
                async for _position in place.positions(deadline=deadline):
                    pass
        assert queue.waiting == 0
    assert queue.running == 0
