"""Which account a sender belongs to, and who may change its plans. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar


class _Routable(Protocol):
    @property
    def addresses(self) -> Sequence[str] | None: ...
    @property
    def domains(self) -> Sequence[str] | None: ...


class _Staffed(Protocol):
    """Who speaks for an account: the store's `Account` rows have these (the core does not import the store)."""

    @property
    def owner_email(self) -> str | None: ...
    @property
    def second_level(self) -> str | None: ...
    @property
    def staff(self) -> Sequence[Any] | None: ...


A = TypeVar("A", bound=_Routable)


DEFAULT_ACCOUNT = "default"  # the account of senders no other account claims


@dataclass(frozen=True)
class Route:
    """What routing needs of an account, safe to keep between sessions."""

    id: int
    name: str
    addresses: tuple[str, ...]
    domains: tuple[str, ...]


def route(address: str, accounts: Sequence[A]) -> A | None:
    """The account a sender belongs to: its exact address first, then its domain or a parent domain."""
    address = address.lower()
    for account in accounts:
        if address in (account.addresses or []):
            return account
    domain = address.rpartition("@")[2]
    best: tuple[int, A] | None = None
    for account in accounts:
        for d in account.domains or []:
            if (domain == d or domain.endswith("." + d)) and (best is None or len(d) > best[0]):
                best = (len(d), account)
    return best[1] if best else None


def authorised(address: str, account: _Staffed) -> bool:
    """May `address` change plans of this account's concerns (owner, staff, second level)?"""
    address = address.lower()
    return address in {account.owner_email, account.second_level, *(account.staff or [])} - {None}
