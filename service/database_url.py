"""Where the database is: the URL forms accepted, the default SQLite file, relative paths made absolute.

A SQLite path never depends on the folder a command happens to run in: the default file sits next
to the settings file, or in the user's data folder, and a relative path is read from the settings
file's folder (issue 18: `followup concerns` run elsewhere made an empty database and said "no
concerns").
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "FOLLOWUP_"


def normalise_database_url(raw: str) -> str:
    """Accept plain sqlite:// and postgresql:// and pick the async drivers."""
    url = raw.strip()
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise ValueError(
        "must be sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db "
        f"(plain sqlite:// and postgresql:// accepted), got {raw.split('@')[-1]!r}"
    )


def default_database_url() -> str:
    """SQLite in a fixed place, never the current folder: next to the settings file when there is one,
    else in the user's data folder ($XDG_DATA_HOME/followup, ~/.local/share/followup)."""
    folder = _settings_folder()
    if not os.environ.get(ENV_PREFIX + "CONFIG"):
        folder.mkdir(parents=True, exist_ok=True)  # the user's own data folder: made on first use
    return f"sqlite+aiosqlite:///{folder / 'followup.db'}"


def _settings_folder() -> Path:
    config = os.environ.get(ENV_PREFIX + "CONFIG")
    if config:
        return Path(config).expanduser().resolve().parent
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "followup"


def anchored_sqlite(url: str) -> str:
    """A SQLite URL with a relative path made absolute: against the settings file's folder, where
    there is one, else the current folder (so that every command names the same file)."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        return url
    path, _, query = url[len(prefix):].partition("?")
    if not path or path == ":memory:" or Path(path).is_absolute():
        return url
    base = _settings_folder() if os.environ.get(ENV_PREFIX + "CONFIG") else Path.cwd()
    return prefix + str((base / path).resolve()) + (f"?{query}" if query else "")
