"""Preparing a batch in this process: scored together, one by one when that fails; and when "auto" wants a
second process."""

from __future__ import annotations

from typing import Any

import pytest

from service.flows.prepared import Unprepared, reason
from service.runtime import prepare
from service.runtime.prepare import Recipe, prepare_batch, recipe_of
from service.settings import Settings

from mailfactory import mixed_batch


def recipe() -> Recipe:
    return recipe_of(Settings(inbox_url="maildir:///tmp/unused-in", outbox_url="maildir:///tmp/unused-out",
                              shared_address="care@example.test"))


def test_a_batch_that_fails_to_score_is_scored_one_by_one_and_the_culprit_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    datas = mixed_batch(3)

    def batch_fails(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("batch pass broke")

    real_detect = prepare.detect

    def one_fails(text: str, **kw: Any) -> Any:
        if "worried" in text:
            raise ValueError("cannot score this one")
        return real_detect(text, **kw)

    monkeypatch.setattr(prepare, "detect_many", batch_fails)
    monkeypatch.setattr(prepare, "detect", one_fails)
    got = prepare_batch(datas, recipe())
    assert [type(p.verdict).__name__ for p in got] == ["Verdict", "Unprepared", "Verdict"]
    assert isinstance(got[1].verdict, Unprepared)
    assert reason(got[1].verdict) == "ValueError: cannot score this one"
    assert got[0].verdict is not None and got[0].verdict.label == "complaint"  # type: ignore[union-attr]


def test_auto_wants_a_second_process_for_a_full_batch_on_two_cores() -> None:
    assert prepare.wants_helper(50, 50, 2)
    assert prepare.wants_helper(100, 50, 8)
    assert not prepare.wants_helper(49, 50, 2)  # a quiet inbox: one message at a time
    assert not prepare.wants_helper(50, 50, 1)  # one core: a second process only competes
    assert not prepare.wants_helper(50, 0, 2)
