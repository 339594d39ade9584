"""Rules and the chains that run them, in the shape of GNU Mailman 3's; pure.

A rule answers one question about a message (`check(facts) -> bool`) and has a
stable kebab-case name. A chain asks its links in order: a link holds one rule,
or several asked together (Mailman's "defer" rules followed by "any"), and says
what a hit or a miss leads to: an end (a function of the facts giving the
result), another chain (Mailman's "jump"), or nothing (ask the next link). A
chain that runs out of links ends in its `otherwise`. Every rule asked is
recorded as hit or missed, so a decision can be explained afterwards; rules a
chain never reached are in neither list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

F = TypeVar("F")  # the facts a chain's rules read
R = TypeVar("R")  # what a chain ends in


@dataclass(frozen=True)
class Rule(Generic[F]):
    """One question about a message: `check` is pure and answers it."""

    name: str  # kebab-case and stable: stored with every message, documented in the README
    description: str  # the question, in one line
    check: Callable[[F], bool]


def rule(name: str, description: str) -> Callable[[Callable[[F], bool]], Rule[F]]:
    """Make the decorated check a `Rule` with this name and question."""

    def make(check: Callable[[F], bool]) -> Rule[F]:
        return Rule(name, description, check)

    return make


@dataclass(frozen=True)
class RuleRecord:
    """Which rules hit and which missed, each in the order they were asked."""

    hit: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()

    def __add__(self, other: RuleRecord) -> RuleRecord:
        return RuleRecord(self.hit + other.hit, self.missed + other.missed)

    def as_json(self) -> dict[str, list[str]]:
        """The form stored with the message and printed by `followup show --format json`."""
        return {"hit": list(self.hit), "missed": list(self.missed)}


@dataclass(frozen=True)
class Link(Generic[F, R]):
    """Rules asked together, and where a hit (any of them) or a miss (all of them) leads."""

    rules: tuple[Rule[F], ...]
    hit: Callable[[F], R] | Chain[F, R] | None = None
    miss: Callable[[F], R] | Chain[F, R] | None = None


def link(*rules: Rule[F], hit: Callable[[F], R] | Chain[F, R] | None = None,
         miss: Callable[[F], R] | Chain[F, R] | None = None) -> Link[F, R]:
    """A link asking `rules` (every one, and each recorded); see `Link`."""
    return Link(rules, hit, miss)


@dataclass(frozen=True)
class Chain(Generic[F, R]):
    """Links asked in order; `otherwise` ends a chain whose links all led on."""

    name: str
    links: tuple[Link[F, R], ...]
    otherwise: Callable[[F], R]


def run(chain: Chain[F, R], facts: F) -> tuple[R, RuleRecord]:
    """Run `chain` on `facts`: what it ended in, and the record of the rules it asked."""
    hits: list[str] = []
    misses: list[str] = []
    current = chain
    while True:
        for step in current.links:
            hit = False
            for r in step.rules:  # every one, even after a hit: the record names each that applies
                if r.check(facts):
                    hits.append(r.name)
                    hit = True
                else:
                    misses.append(r.name)
            then = step.hit if hit else step.miss
            if isinstance(then, Chain):
                current = then
                break
            if then is not None:
                return then(facts), RuleRecord(tuple(hits), tuple(misses))
        else:
            return current.otherwise(facts), RuleRecord(tuple(hits), tuple(misses))

