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
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1, hold=0)
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
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=2, hold=0)
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


# -- holds: one call for both cohorts of a closed loop of clients -------------------------------


def test_the_next_call_waits_for_the_answered_lookups_to_come_back() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1, hold=60)
        first = [asyncio.ensure_future(batches.get(k)) for k in ("a", "b")]
        await _settle()
        second = [asyncio.ensure_future(batches.get(k)) for k in ("c", "d")]
        await _settle()
        fetches.release[0].set()
        assert [await f for f in first] == [1, 1]
        await _settle()
        assert len(fetches.calls) == 1  # held: four lookups were in progress, two wait
        # The first cohort's clients come back (one of them asks for a waiting key).
        again = [asyncio.ensure_future(batches.get(k)) for k in ("a", "c")]
        await _settle()
        assert fetches.calls[1:] == [(0, ["a", "c", "d"])]  # both cohorts in one call
        fetches.release[1].set()
        assert [await f for f in second + again] == [2, 2, 2, 2]

    asyncio.run(scenario())


def test_a_hold_ends_after_its_time_and_the_waiting_lookups_are_answered() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1, hold=0.05)
        first = asyncio.ensure_future(batches.get("a"))
        await _settle()
        waiting = asyncio.ensure_future(batches.get("b"))
        await _settle()
        fetches.release[0].set()
        assert await first == 1
        await _settle()
        assert len(fetches.calls) == 1  # held: the first client may come back
        await asyncio.sleep(0.1)  # it does not
        assert fetches.calls[1:] == [(0, ["b"])]
        fetches.release[1].set()
        assert await waiting == 2

    asyncio.run(scenario())


def test_after_a_hold_ran_out_the_next_calls_go_at_once() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1, hold=0.05)
        pending = [asyncio.ensure_future(batches.get("a"))]
        await _settle()
        last = 1 + Coalescer.SKIP_AFTER_TIMEOUT
        for call in range(1, last + 2):
            pending.append(asyncio.ensure_future(batches.get(f"k{call}")))
            await _settle()
            fetches.release[call - 1].set()
            await _settle()
            if call in (1, last + 1):
                assert len(fetches.calls) == call, call  # held: nothing comes back
                await asyncio.sleep(0.1)
            assert len(fetches.calls) == call + 1, call  # the calls between go at once
        fetches.release[-1].set()
        await asyncio.gather(*pending)

    asyncio.run(scenario())


def test_a_lookup_soon_after_an_answer_waits_for_the_rest_of_its_cohort() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1, hold=60)
        first = [asyncio.ensure_future(batches.get(k)) for k in ("a", "b")]
        await _settle()
        fetches.release[0].set()
        assert [await f for f in first] == [1, 1]  # the lane is idle now
        one = asyncio.ensure_future(batches.get("a"))
        await _settle()
        assert len(fetches.calls) == 1  # held: two clients were served, one is back
        two = asyncio.ensure_future(batches.get("b"))
        await _settle()
        assert fetches.calls[1:] == [(0, ["a", "b"])]
        fetches.release[1].set()
        assert (await one, await two) == (2, 2)

    asyncio.run(scenario())


def test_a_lookup_long_after_the_last_answer_goes_at_once() -> None:
    async def scenario() -> None:
        fetches = Fetches()
        batches: Coalescer[str, int] = Coalescer(fetches, lanes=1, hold=0.05)
        first = [asyncio.ensure_future(batches.get(k)) for k in ("a", "b")]
        await _settle()
        fetches.release[0].set()
        await asyncio.gather(*first)
        await asyncio.sleep(0.1)  # longer than a hold
        late = asyncio.ensure_future(batches.get("a"))
        await _settle()
        assert fetches.calls[1:] == [(0, ["a"])]
        fetches.release[1].set()
        assert await late == 2

    asyncio.run(scenario())
