"""Owners' plan lines in a reply, read into commands; and the signed reply address. Pure.

An owner answers a digest or alert with lines such as

    C-12: call Marta about the rate by Wednesday
    C-12 resolved
    C-12 done 2

Only the owner's own lines are read: the text above the first unmarked quote
(`service.mailformat.quotes.own_text`), split at real line ends only, never a
`>`-marked line, never a line of the digests and alerts we sent them (`KnownLines`),
and never a line that still holds a placeholder such as `<when>` (the digest's
examples are written with them, so that no example can run as written).

The digest's Reply-To carries an HMAC of the owner's address, so a reply
from anyone else, or a message that never saw a digest, carries no valid tag.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from service.mailformat.plain import lines_of, one_line
from service.mailformat.quotes import KnownLines, own_text

Kind = Literal["plan", "resolve", "done"]

# no repeat here can give back what the next one would take (the trailing white space is stripped in code,
# and an address in brackets holds no bracket, space or second "@"): linear on any line an owner writes
_LINE_RE = re.compile(r"^\s*\[?#?C-(\d+)\]?\s*[:.\-–]?\s*(.*)$", re.IGNORECASE)
# the words of the seven languages digests are written in (templates/<lang>/digest.txt.j2 shows them)
_RESOLVE_RE = re.compile(r"^(resolved|resolve|closed|close|solved|résolu|resolu|réglé|regle|gelöst|geloest|"
                         r"geschlossen|resuelto|cerrado|risolto|chiuso|opgelost|gesloten|resolvido|fechado)"
                         r"(?!\w)\.?\s*(.*)$", re.IGNORECASE)
_DONE_RE = re.compile(r"^(?:done|item|fait|erledigt|hecho|fatto|gedaan|klaar|feito)\s*#?(\d+)?(?:\s+done)?\.?$",
                      re.IGNORECASE)
# the last of these words starts the date: "call Marta by Friday", "appeler Marta avant vendredi"
_DUE_RE = re.compile(r"^(.*\S)\s+(?:by|before|on|due|until|avant|pour|d'ici|d’ici|bis|vor|spätestens|para|"
                     r"antes de|hasta|entro|uiterlijk|voor|op|até|ate)\s+(.+?)\.?$", re.IGNORECASE)
# times as other languages write them, to the 24-hour form every language's date reader takes:
# "15h", "15h30", "15 Uhr", "15 uur"; "alle 15", "às 15", "a las 15", "um 15", "om 15", "à 15"
_CLOCK_RE = re.compile(r"\b(\d{1,2})\s*(?:h|uhr|uur)(?:\s*(\d\d))?(?!\w)", re.IGNORECASE)
_AT_RE = re.compile(r"(?<!\w)(?:à|um|om|alle|às|a las|ore)\s+(\d{1,2})(?::(\d\d))?(?![\w:./-])", re.IGNORECASE)
# an article before a weekday ("le vendredi", "el viernes", "am Freitag", "op vrijdag") that the reader stops at
_ARTICLE_RE = re.compile(r"^(?:le|el|la|den|dem|am|het|il|lo|o)\s+", re.IGNORECASE)
_LANGUAGES = ["en", "fr", "de", "es", "it", "nl", "pt"]  # English first: its readings of "3/4" and "Mar 3" stay
_OWNER_RE = re.compile(r"(?<!\s)\s*[\[(]\s*(?:owner:?\s*)?([^\s@\[\]()]+@[^\s@\[\]()]+)\s*[\])]\s*",
                       re.IGNORECASE)
_HAS_TIME_RE = re.compile(r"\d\s*(?:am|pm)\b|\d:\d\d|\bnoon\b|\bmidday\b", re.IGNORECASE)
_QUOTE_RE = re.compile(r"^\s*>")
# "<when>", "<what will be done>": the digest's examples; an address in brackets is not one
_PLACEHOLDER_RE = re.compile(r"<\s*[^<>@\s][^<>@]{0,100}>")
PLACEHOLDER = "replace each <...> with your own words"
NOT_YOURS = "this line is in the digest or alert we sent you, not in your own words: write it as a line of your own"
_DUE_PHRASE_MAX = 200


@dataclass(frozen=True)
class Command:
    kind: Kind
    concern_id: int
    text: str = ""
    due_at: datetime | None = None
    owner: str | None = None
    item: int | None = None
    line: str = ""


@dataclass(frozen=True)
class Problem:
    line: str
    reason: str  # in English, for the log and the English confirmation
    code: str = ""  # what went wrong, for a confirmation in another language: no_step, placeholder, ...
    detail: str = ""  # the date or concern the reason names


def parse_commands(body: str, now: datetime, tz: ZoneInfo, *, end_of_day: time = time(17, 0),
                   known: KnownLines | None = None) -> tuple[list[Command], list[Problem]]:
    """Commands from the owner's own lines; lines that name a concern but cannot be read are problems.

    `known`: the lines of the digests and alerts we sent this owner. Such a line, or what a mail
    program that wraps long lines leaves of one, is never a command: it is passed over, or, if it
    would be one, refused with the reason (the owner hears of it, and can write it in their words).
    """
    commands: list[Command] = []
    problems: list[Problem] = []
    known = known or KnownLines()
    for raw in lines_of(own_text(body)):
        if _QUOTE_RE.match(raw):
            continue  # the digest we sent, quoted back
        # a line break of another kind inside the line is a space; runs of spaces are one (and the
        # patterns below stay linear in the line)
        line = " ".join(one_line(raw).split())
        read = _read(line, now, tz, end_of_day)
        if read is None:
            continue
        if known.sent(line) or known.inside(line):
            if isinstance(read, Command):  # ours, not the owner's: said so, never carried out
                problems.append(Problem(line, NOT_YOURS, "not_yours"))
        elif isinstance(read, Command):
            commands.append(read)
        elif not (len(line.split()) >= 3 and known.piece(line)):
            problems.append(read)  # (the first piece of a wrapped line of ours is no problem of theirs)
    return commands, problems


def _read(line: str, now: datetime, tz: ZoneInfo, end_of_day: time) -> Command | Problem | None:
    """One line as a command, a problem, or None when it names no concern."""
    match = _LINE_RE.match(line)
    if not match:
        return None
    concern, rest = int(match.group(1)), match.group(2).rstrip()
    if not rest:
        return Problem(line, "say what will be done and by when, or 'resolved'", "no_step")
    if _PLACEHOLDER_RE.search(rest):
        return Problem(line, PLACEHOLDER, "placeholder")
    resolved = _RESOLVE_RE.match(rest)
    if resolved:
        return Command("resolve", concern, text=resolved.group(2), line=line)
    done = _DONE_RE.match(rest)
    if done:
        return Command("done", concern, item=int(done.group(1)) if done.group(1) else None, line=line)
    owner = None
    found = _OWNER_RE.search(rest)
    if found:
        owner = found.group(1).lower()
        rest = (rest[:found.start()] + " " + rest[found.end():]).strip()
    due = _DUE_RE.match(rest)
    if not due:
        return Problem(line, "no due date: end the line with 'by <date>', e.g. 'by Friday'", "no_date")
    when = parse_due(due.group(2), now, tz, end_of_day=end_of_day)
    if when is None:
        return Problem(line, f"cannot read the date {due.group(2)!r}", "bad_date", due.group(2))
    if when < now:
        return Problem(line, f"the date {due.group(2)!r} is in the past", "past_date", due.group(2))
    return Command("plan", concern, text=due.group(1).strip(" :-"), due_at=when, owner=owner, line=line)


def parse_due(phrase: str, now: datetime, tz: ZoneInfo, *, end_of_day: time = time(17, 0)) -> datetime | None:
    """A date in plain words ("Wednesday", "tomorrow 3pm", "25 Nov", "vendredi", "morgen 15 Uhr") in `tz`,
    as aware UTC.

    A date with no time of day means the close of that business day.
    """
    import dateparser  # 13 MB of language data: loaded when an owner first writes a date, not at start

    if len(phrase) > _DUE_PHRASE_MAX:  # no date is written that long; dateparser would read all of it
        return None
    local_now = now.astimezone(tz).replace(tzinfo=None)
    phrase = _CLOCK_RE.sub(lambda m: f"{int(m.group(1)):02d}:{m.group(2) or '00'}", phrase)
    phrase = _AT_RE.sub(lambda m: f"{int(m.group(1)):02d}:{m.group(2) or '00'}", phrase)
    phrase = _ARTICLE_RE.sub("", phrase.strip())
    parsed: datetime | None = dateparser.parse(phrase, languages=_LANGUAGES, settings={
        "RELATIVE_BASE": local_now, "PREFER_DATES_FROM": "future", "TIMEZONE": str(tz),
        "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first",
    })
    if parsed is None:
        return None
    if not _HAS_TIME_RE.search(phrase):
        parsed = datetime.combine(parsed.date(), end_of_day)
    return parsed.replace(tzinfo=tz).astimezone(UTC)


# -- signed reply addresses ----------------------------------------------------------------

_TAG_RE = re.compile(r"^(?P<local>[^+@]+)\+o-(?P<ref>[a-z0-9]{1,20})-(?P<mac>[0-9a-f]{20})@(?P<domain>.+)$")


def _mac(key: bytes, owner: str, ref: str) -> str:
    return hmac.new(key, f"{owner.strip().lower()}|{ref}".encode(), hashlib.sha256).hexdigest()[:20]


def signed_address(shared_address: str, key: bytes, owner: str, ref: str) -> str:
    """The Reply-To for mail to `owner`: the shared address with a tag only we can make."""
    local, _, domain = shared_address.partition("@")
    return f"{local}+o-{ref}-{_mac(key, owner, ref)}@{domain}"


def verify_tag(addresses: list[str], key: bytes, sender: str) -> str | None:
    """The digest reference if one of `addresses` carries a valid tag for `sender`, else None."""
    for address in addresses:
        match = _TAG_RE.match(address.strip().lower())
        if match and hmac.compare_digest(match["mac"], _mac(key, sender, match["ref"])):
            return match["ref"]
    return None


def tag_refs(addresses: list[str]) -> list[str]:
    """The references of every tag-shaped address (not yet verified)."""
    return [m["ref"] for a in addresses if (m := _TAG_RE.match(a.strip().lower()))]


def has_tag(addresses: list[str]) -> bool:
    """Whether any address looks like a reply to a signed digest or alert (valid or not)."""
    return any(_TAG_RE.match(a.strip().lower()) for a in addresses)
