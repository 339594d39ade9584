"""The chain runner on toy rules: ends, jumps, rules asked together, and the record it keeps."""

from __future__ import annotations

import pytest

from service.core.chain import Chain, RuleRecord, link, rule, run


@rule("even", "Is it even?")
def even(n: int) -> bool:
    return n % 2 == 0


@rule("big", "Is it over 100?")
def big(n: int) -> bool:
    return n > 100


@rule("negative", "Is it below zero?")
def negative(n: int) -> bool:
    return n < 0


SIGN: Chain[int, str] = Chain("sign", (link(negative, hit=lambda n: "negative"),), otherwise=lambda n: "positive")
TOY: Chain[int, str] = Chain("toy", (
    link(big, hit=SIGN),  # a jump: the other chain decides
    link(even, negative, hit=lambda n: f"even-or-negative {n}"),  # both asked, either is enough
    link(even, miss=lambda n: "odd"),
), otherwise=lambda n: "unreachable")


@pytest.mark.parametrize(("n", "ends", "hit", "missed"), [
    (4, "even-or-negative 4", ["even"], ["big", "negative"]),
    (-3, "even-or-negative -3", ["negative"], ["big", "even"]),
    (3, "odd", [], ["big", "even", "negative", "even"]),
    (101, "positive", ["big"], ["negative"]),  # rules of the chain left behind are in neither list
])
def test_run(n: int, ends: str, hit: list[str], missed: list[str]) -> None:
    assert run(TOY, n) == (ends, RuleRecord(tuple(hit), tuple(missed)))


def test_a_chain_whose_links_all_lead_on_ends_in_otherwise() -> None:
    chain: Chain[int, str] = Chain("quiet", (link(even), link(big)), otherwise=lambda n: f"otherwise {n}")
    assert run(chain, 202) == ("otherwise 202", RuleRecord(("even", "big"), ()))


def test_records_add_up_in_order() -> None:
    first, second = RuleRecord(("a",), ("b",)), RuleRecord(("c",), ("d", "e"))
    assert (first + second).as_json() == {"hit": ["a", "c"], "missed": ["b", "d", "e"]}
    assert RuleRecord().as_json() == {"hit": [], "missed": []}
