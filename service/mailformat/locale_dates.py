"""Dates, times and durations in a reader's language (CLDR data through Babel). Pure.

Every date a client or an owner reads is written here: the weekday and month names, their order and
the 24-hour clock of the reader's locale, in the time zone of their account. English keeps the form
the service always wrote ("Thursday 03 December, 14:05 CET").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from babel import Locale

# Babel (36 ms to import) is imported where a date is first written, not by every command that imports this

# a weekday, its day and month, without the year: CLDR's full date patterns carry the year, and a
# reminder or a deadline a few days off reads more naturally without it
_DAY_PATTERNS = {
    "en": "EEEE dd MMMM",
    "es": "EEEE d 'de' MMMM",
    "pt": "EEEE, d 'de' MMMM",
    "de": "EEEE, d. MMMM",
    "fr": "EEEE d MMMM",
    "it": "EEEE d MMMM",
    "nl": "EEEE d MMMM",
}


# how a day and a time are joined ("Thursday 03 December at 09:00")
_AT = {"en": " at ", "es": " a las ", "pt": " às ", "de": " um ", "fr": " à ", "it": " alle ", "nl": " om "}


@lru_cache(maxsize=64)
def locale_of(lang: str) -> Locale:
    """Babel's locale for an ISO 639-1 code; English for a code CLDR does not know."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _local(when: datetime, tz: ZoneInfo | str) -> datetime:
    return when.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)


def day(when: datetime, tz: ZoneInfo | str, lang: str) -> str:
    """'jeudi 3 décembre', 'Donnerstag, 3. Dezember', 'Thursday 03 December'."""
    from babel.dates import format_date, format_datetime

    locale = locale_of(lang)
    local = _local(when, tz)
    pattern = _DAY_PATTERNS.get(locale.language)
    if pattern is None:  # a language an operator added: CLDR's full date, year included
        return format_date(local.date(), format="full", locale=locale)
    return format_datetime(local, pattern, locale=locale)


def moment(when: datetime, tz: ZoneInfo | str, lang: str) -> str:
    """A day and a 24-hour time with the zone's abbreviation: 'jeudi 3 décembre, 14:05 CET'."""
    local = _local(when, tz)
    zone = local.tzname() or str(tz)
    return f"{day(when, tz, lang)}, {local:%H:%M} {zone}"


def day_at(when: datetime, tz: ZoneInfo | str, lang: str) -> str:
    """A day and a 24-hour time, joined as the language joins them: 'jeudi 3 décembre à 09:00'."""
    local = _local(when, tz)
    return f"{day(when, tz, lang)}{_AT.get(locale_of(lang).language, ', ')}{local:%H:%M}"


def day_with_year(when: datetime, tz: ZoneInfo | str, lang: str) -> str:
    """'Thursday 03 December 2026', 'jeudi 3 décembre 2026': a digest's date."""
    from babel.dates import format_date, format_datetime

    locale = locale_of(lang)
    local = _local(when, tz)
    if locale.language == "en":
        return format_datetime(local, "EEEE dd MMMM y", locale=locale)
    return format_date(local.date(), format="full", locale=locale)


def waited(delta: timedelta, lang: str) -> str:
    """How long someone has waited, in whole days, hours or minutes: '3 days', '5 Stunden', '20 minutes'."""
    from babel.dates import format_timedelta

    minutes = max(0, int(delta.total_seconds() // 60))
    locale = locale_of(lang)
    if minutes >= 2 * 24 * 60:
        return format_timedelta(timedelta(days=minutes // (24 * 60)), threshold=10**6, granularity="day",
                                locale=locale)
    if minutes >= 120:
        return format_timedelta(timedelta(hours=minutes // 60), threshold=10**6, granularity="hour", locale=locale)
    return format_timedelta(timedelta(minutes=minutes), threshold=10**6, granularity="minute", locale=locale)
