"""The request loop lets requests gather before its next fetch only under a load on reactors."""

from __future__ import annotations

from packetflow.ingress.loop import BATCH_WAIT_MIN, IngressConfig
from tests.packetflow.ingress.test_loop import Clock, Loop, batch, request
from tests.packetflow.ingress.test_loop_hops import hopping

WAIT = IngressConfig(batch=10, bundle=100, linger_ms=10, batch_wait_ms=3)


def requests(count: int, tag: str = "r") -> list[bytes]:
    return [request(f"{tag}{n}") for n in range(count)]


class Sleeps:
    """Records what the loop sleeps for, and lets the clock advance by it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.clock.now += seconds


def loop_of(*counts: int, config: IngressConfig = WAIT, hops: bool = True) -> tuple[Loop, Sleeps]:
    clock = Clock()
    sleeps = Sleeps(clock)
    batches = (batch(requests(n, f"b{i}-")) for i, n in enumerate(counts))
    loop = Loop(*batches, config=config, clock=clock, sleep=sleeps)
    if hops:
        hopping(loop)
    return loop, sleeps


async def test_after_a_batch_of_hops_under_load_the_next_fetch_waits() -> None:
    loop, sleeps = loop_of(BATCH_WAIT_MIN, 1)
    await loop.ingress.step()
    assert sleeps.slept == []  # the first fetch never waits
    await loop.ingress.step()
    assert sleeps.slept == [0.003]
    await loop.ingress.drain()


async def test_stateless_batches_never_wait() -> None:
    loop, sleeps = loop_of(5, 5, hops=False)
    await loop.ingress.step()
    await loop.ingress.step()
    assert sleeps.slept == []
    await loop.ingress.drain()
    assert len(loop.producer.on("t.responses")) == 10


async def test_a_light_load_never_waits() -> None:
    loop, sleeps = loop_of(BATCH_WAIT_MIN - 1, BATCH_WAIT_MIN - 1, 1)
    for _ in range(3):
        await loop.ingress.step()
    assert sleeps.slept == []
    await loop.ingress.drain()


async def test_after_a_full_batch_the_next_fetch_does_not_wait() -> None:
    loop, sleeps = loop_of(WAIT.batch, 1)
    await loop.ingress.step()
    await loop.ingress.step()
    assert sleeps.slept == []  # a backlog: more is already there
    await loop.ingress.drain()


async def test_an_empty_poll_ends_the_wait() -> None:
    loop, sleeps = loop_of(5, 0, 1)
    await loop.ingress.step()
    assert await loop.ingress.step() == 0
    assert sleeps.slept == [0.003]
    await loop.ingress.step()
    assert sleeps.slept == [0.003]  # nothing came in meanwhile: light load again
    await loop.ingress.drain()


async def test_the_wait_ends_when_the_held_bundle_is_due() -> None:
    loop, sleeps = loop_of(5, 1)
    await loop.ingress.step()  # its hops open a bundle due in 10 ms
    sleeps.clock.now += 0.009
    await loop.ingress.step()
    assert sleeps.slept == [0.001]
    await loop.ingress.drain()


async def test_turned_off_with_zero() -> None:
    off = IngressConfig(batch=10, bundle=100, linger_ms=10, batch_wait_ms=0)
    loop, sleeps = loop_of(5, 5, config=off)
    await loop.ingress.step()
    await loop.ingress.step()
    assert sleeps.slept == []
    await loop.ingress.drain()
