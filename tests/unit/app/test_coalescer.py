"""``Coalescer``: concurrent lookups share queries, never one that began before they arrived.

PostgreSQL's fast reads (generation tags, download lookups) go through it: exactness (issue
13: a write committed before a request arrived is seen by that request) rests on every lookup
being answered by a fetch that started after the lookup was made.
"""

from __future__ import annotations

import asyncio

from app.core.loop_queries import Coalescer


class Fetches:
    """A fetch that holds each call until released, recording (lane, keys) per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[str]]] = []
        self.release: list[asyncio.Event] = []

    async def __call__(self, lane: int, keys: list[str]) -> dict[str, int]:
        gate = asyncio.Event()
        self.calls.append((lane, sorted(keys)))
        self.release.append(gate)
        call = len(self.calls)
        await gate.wait()
        return {key: call for key in keys}


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lookup_made_while_a_query_runs_waits_for_a_later_one() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1)
        first = asyncio.ensure_future(batches.get("a"))
        await _settle()
        late = [asyncio.ensure_future(batches.get(k)) for k in ("a", "b")]
        await _settle()
        assert fetches.calls == [(0, ["a"])]  # one lane: the late ones wait
        fetches.release[0].set()
        assert await first == 1
        await _settle()
        assert fetches.calls == [(0, ["a"]), (0, ["a", "b"])]  # one batch, started later
        fetches.release[1].set()
        assert [await f for f in late] == [2, 2]  # never answered by the first query

    asyncio.run(scenario())


def test_a_free_lane_starts_at_once_instead_of_waiting_for_the_busy_one() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=2)
        first = asyncio.ensure_future(batches.get("a"))
        await _settle()
        second = asyncio.ensure_future(batches.get("a"))
        await _settle()
        assert sorted(fetches.calls) == [(0, ["a"]), (1, ["a"])]  # in flight together
        third = asyncio.ensure_future(batches.get("c"))
        await _settle()
        assert len(fetches.calls) == 2  # both lanes busy: it waits
        fetches.release[1].set()
        assert await second == 2
        await _settle()
        assert len(fetches.calls) == 3 and fetches.calls[2][1] == ["c"]
        fetches.release[0].set()
        fetches.release[2].set()
        assert (await first, await third) == (1, 3)

    asyncio.run(scenario())
