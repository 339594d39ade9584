"""The worker's pure work, here or in a process of its own: batches parsed and scored, replies composed.

Parsing and scoring are pure functions of the message bytes, and were two
fifths of the worker's CPU time (py-spy, bench/loop_throughput.py); rendering
and composing acknowledgements (`service.core.letters`) were a third of what was left.
With `FOLLOWUP_PREPARE_PROCESS=true` both run in a second process: one batch is
parsed and scored while the one before it is stored and its replies sent. The
worker's own process keeps the database, IMAP and SMTP. The default, "auto",
starts that process when a full batch shows a backlog on a machine of two or
more cores, and stops it once the backlog is read: a quiet inbox, answered one
message at a time, pays no round trip to another process and keeps no second
model in memory.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from service.core.letters import Composed, LetterRequest, Refusal, compose_letters
from service.detector.detect import Thresholds, Verdict, detect, detect_many, detector_input
from service.detector.model import DetectorModel, forget_model, load_model, model_file
from service.flows.prepared import Prepared, Unprepared, reason
from service.mailformat.parse import Inbound, parse_message

if TYPE_CHECKING:  # the second process needs no settings: pydantic would be 21 MB of its memory
    from service.settings import Settings

log = logging.getLogger("followup.prepare")
# "auto" keeps its second process this long after the last full batch: a backlog read in bursts
# does not start it again and again, and a quiet inbox does not keep its memory for good
BACKLOG_QUIET_S = 60.0
_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass(frozen=True)
class Recipe:
    """What preparing needs, in a form another process can be handed."""

    model_file: Path
    noreply: tuple[str, ...]
    thresholds: Thresholds
    own_addresses: tuple[str, ...] = ()  # our shared address: a group of ours rewrites From to it


def prepare_batch(datas: Sequence[bytes], recipe: Recipe, model: DetectorModel | None = None) -> list[Prepared]:
    """Parse every message, then score all that parsed in one model pass (one by one if that fails)."""
    detector = model or load_model(recipe.model_file)
    parsed: list[Inbound | Unprepared] = []
    for data in datas:
        try:
            parsed.append(parse_message(data, noreply_patterns=recipe.noreply, own_addresses=recipe.own_addresses))
        except Exception as exc:  # noqa: BLE001 - the message is quarantined with this reason
            parsed.append(Unprepared(reason(exc)))
    good = [p for p in parsed if isinstance(p, Inbound)]
    verdicts: list[Verdict | Unprepared]
    try:
        verdicts = list(detect_many([detector_input(m) for m in good], thresholds=recipe.thresholds,
                                    model=detector))
    except Exception as exc:  # noqa: BLE001 - one at a time, to find the message that fails
        log.warning("batch detection failed (%s); detecting one by one", reason(exc))
        verdicts = [_detect_one(m, recipe, detector) for m in good]
    scored = iter(verdicts)
    return [Prepared(p, next(scored) if isinstance(p, Inbound) else None) for p in parsed]


def _detect_one(msg: Inbound, recipe: Recipe, model: DetectorModel) -> Verdict | Unprepared:
    try:
        text, subject = detector_input(msg)
        return detect(text, subject=subject, thresholds=recipe.thresholds, model=model)
    except Exception as exc:  # noqa: BLE001 - quarantined by the pipeline
        return Unprepared(reason(exc))


_child_recipe: Recipe | None = None


def _start_child(recipe: Recipe, log_level: str) -> None:
    global _child_recipe  # the one piece of state a pool process keeps
    # the worker decides when this process ends (Worker.close): a SIGTERM or Ctrl-C sent to the
    # whole process group must not kill it under a batch. If the worker dies (SIGKILL, the OOM
    # killer), nothing else would end it: the pool's queues keep its pipes open, so a thread
    # waits on the parent and ends this process with it
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="followup-parent-watch",
                         daemon=True).start()
    logging.basicConfig(level=log_level, format="%(levelname)s followup prepare: %(message)s")
    _child_recipe = recipe
    load_model(recipe.model_file)  # once per process, before the first batch waits on it


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(0)


def _prepare_in_child(datas: list[bytes]) -> list[Prepared]:
    assert _child_recipe is not None, "the pool's initializer sets the recipe"
    return prepare_batch(datas, _child_recipe)


def _ready() -> None:
    """Run in the second process once it has started and loaded its model."""


def cpus() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def wants_helper(batch: int, backlog_at: int, cores: int) -> bool:
    """Whether "auto" starts a second process: a full batch means a backlog, and a second core can take it."""
    return cores >= 2 and backlog_at > 0 and batch >= backlog_at


def backlog_over(batch: int, backlog_at: int, since_full_s: float) -> bool:
    """Whether "auto" stops its second process: no full batch for `BACKLOG_QUIET_S`, and this one is not.

    Checked as each batch comes and each time the inbox is found empty (a poll, an IDLE wake-up).
    """
    return batch < backlog_at and since_full_s >= BACKLOG_QUIET_S


def recipe_of(settings: Settings) -> Recipe:
    return Recipe(model_file(settings.model_path, settings.detector), tuple(settings.noreply_patterns),
                  Thresholds(settings.complaint_threshold, settings.anxiety_threshold), (settings.shared_address,))


class Preparer:
    """Prepares batches and composes acknowledgements in this process, or in a second one: always with
    `separate=True`, during a backlog with "auto".

    If the second process dies, its work and all later work is done here:
    no message waits on a dead helper.
    """

    def __init__(self, recipe: Recipe, *, separate: bool | Literal["auto"], backlog_at: int = 0,
                 log_level: str = "WARNING") -> None:
        """`separate="auto"`: here, until a batch of `backlog_at` or more messages says a backlog is
        being read (on a machine of two or more cores); from then on in a second process."""
        self.recipe = recipe
        self.mode = separate
        self.separate = separate is True  # whether work goes to the second process now
        self.backlog_at = backlog_at
        self.log_level = log_level
        self._pool: ProcessPoolExecutor | None = None
        self._warming: asyncio.Task[None] | None = None
        self._last_full = 0.0  # time.monotonic() of the last full batch, for "auto"
        self._cores = cpus() if separate == "auto" else 0
        # loaded now, so that a missing or broken model stops the worker at start; dropped while the
        # second process scores (27 MB), and read again when a batch is prepared here
        self._model: DetectorModel | None = load_model(recipe.model_file)

    def submit(self, datas: Sequence[bytes]) -> asyncio.Future[list[Prepared]]:
        """Start preparing `datas`; the result is awaited later, while other work goes on."""
        items = list(datas)
        if self.mode == "auto":
            self._follow_backlog(len(items))
        if not self.separate:
            done: asyncio.Future[list[Prepared]] = asyncio.get_running_loop().create_future()
            done.set_result(prepare_batch(items, self.recipe, self._here_model()))
            return done
        return asyncio.ensure_future(self._in_child(
            _prepare_in_child, items, lambda: prepare_batch(items, self.recipe, self._here_model()),
            f"{len(items)} messages"))

    def _here_model(self) -> DetectorModel:
        if self._model is None:
            self._model = load_model(self.recipe.model_file)
        return self._model

    def idle(self) -> None:
        """The inbox had nothing new: with "auto", a backlog that has ended stops the second process."""
        if self.mode == "auto":
            self._follow_backlog(0)

    def _follow_backlog(self, batch: int) -> None:
        now = time.monotonic()
        if batch >= self.backlog_at:
            self._last_full = now
        if self._warming is None and wants_helper(batch, self.backlog_at, self._cores):
            log.info("a backlog: starting the prepare process")
            self._warming = asyncio.ensure_future(self._warm_up(self._start_pool().submit(_ready)))
        elif self._warming is not None and self._warming.done() and backlog_over(
                batch, self.backlog_at, now - self._last_full):
            log.info("the backlog is read: stopping the prepare process until the next one")
            self._drop_pool()
            self._warming = None  # the next backlog starts one again

    async def _warm_up(self, started: Future[None]) -> None:
        # batches are prepared here while the second process starts and loads its model (a second
        # or so): the first batch of a backlog does not wait for it
        try:
            await asyncio.wrap_future(started)
        except BrokenProcessPool as exc:
            log.error("the prepare process did not start (%s); preparing here", exc or "no reason given")
            self._stop_using_helper()
            return
        if self.mode == "auto":  # not closed or given up meanwhile
            self.separate = True

    async def compose(self, requests: list[LetterRequest]) -> list[Composed | Refusal]:
        """Render and compose messages (`service.core.letters`), in the second process if there is one."""
        if not self.separate:
            return compose_letters(requests)
        return await self._in_child(compose_letters, requests, lambda: compose_letters(requests),
                                    f"{len(requests)} messages to compose")

    async def _in_child(self, work: Callable[[list[_In]], list[_Out]], items: list[_In],
                        here: Callable[[], list[_Out]], what: str) -> list[_Out]:
        """`work(items)` in the second process; `here()` instead if that process has died."""
        pool = self._pool or self._start_pool()
        try:
            done = await asyncio.wrap_future(pool.submit(work, items))
        except BrokenProcessPool as exc:
            # a helper that died once (the OOM killer, a crash in a parser's C code) may die again
            # on the same mail: this worker stops using one rather than start one per batch
            log.error("the prepare process died (%s); preparing here from now on, starting with these "
                      "%s; restart the worker to use a prepare process again", exc or "no reason given", what)
            self._stop_using_helper()
            return here()
        if self._model is not None and self.separate:  # the second process scores: its copy is enough
            self._model = None
            forget_model(self.recipe.model_file)
        return done

    def _start_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the worker holds an event loop, sockets and, on SQLite, a thread
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_child, initargs=(self.recipe, self.log_level))
        return self._pool

    def _drop_pool(self) -> None:
        # work already handed to it still finishes; later work is done here
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self._pool, self.separate = None, False

    def _stop_using_helper(self) -> None:
        self._drop_pool()
        self.mode = False  # for good: a helper that died may die again on the same mail

    def close(self) -> None:
        """Stop the helper process, if any."""
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
        self.mode = False
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
