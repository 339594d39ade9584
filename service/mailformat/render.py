"""Jinja2 rendering of operator-editable templates: sandboxed, strict, HTML autoescaped, one folder a language.

English templates lie at the top of a templates folder; every other language has its own folder in it,
named by its ISO 639-1 code (`fr/ack_complaint.txt.j2`). A template is looked for in the language's
folder (the operator's, then the shipped one) and then among the English ones, so an operator adds a
language by adding a folder, and a template a language lacks is written in English rather than not at all.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import SandboxedEnvironment


@lru_cache(maxsize=1)  # asked once per rendered message; the answer never changes
def default_templates_dir() -> Path:
    """Templates shipped in the wheel, or the checkout's templates/ in development."""
    package = Path(__file__).resolve().parent.parent  # service/
    packaged = package / "templates"
    if packaged.is_dir():
        return packaged
    return package.parent / "templates"


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


ENGLISH = "en"
_LANGUAGE_FOLDER = re.compile(r"[a-z]{2,3}")


_languages: dict[Path | None, tuple[float, frozenset[str]]] = {}


def languages(directory: Path | None = None) -> frozenset[str]:
    """The languages there are templates for: English, and each language folder, shipped or the operator's.

    Looked at on disk again once `RELOAD_CHECK_S` have passed: a folder the operator adds is used without
    a restart.
    """
    now = time.monotonic()
    known = _languages.get(directory)
    if known is not None and now - known[0] < RELOAD_CHECK_S:
        return known[1]
    found = {ENGLISH}
    for folder in dict.fromkeys([directory or default_templates_dir(), default_templates_dir()]):
        if folder.is_dir():
            found.update(p.name for p in folder.iterdir()
                         if p.is_dir() and _LANGUAGE_FOLDER.fullmatch(p.name) and any(p.glob("*.j2")))
    _languages[directory] = (now, frozenset(found))
    return _languages[directory][1]


@lru_cache(maxsize=32)
def environment(directory: Path, lang: str = ENGLISH) -> SandboxedEnvironment:
    """One environment per template folder and language, built once per process.

    A template the operator's folder lacks (one added in a later release) is taken from the shipped ones;
    one the language lacks, from the English ones.
    """
    shipped = default_templates_dir()
    own = [directory / lang, shipped / lang] if lang != ENGLISH and _LANGUAGE_FOLDER.fullmatch(lang) else []
    folders = list(dict.fromkeys(str(f) for f in [*own, directory, shipped]))
    return SandboxedEnvironment(
        loader=FileSystemLoader(folders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# An operator's edit to a template is used within this many seconds, without a restart. Jinja
# asks the disk on every use otherwise: two stat calls per acknowledgement, about 6% of composing
# one when measured alone (more under py-spy in the busy loop, where they looked like a seventh).
RELOAD_CHECK_S = 2.0
_loaded: dict[tuple[Path, str, str], tuple[float, Template]] = {}


def template(directory: Path, name: str, lang: str = ENGLISH) -> Template:
    """The compiled template `name` in `lang`, looked at on disk again once `RELOAD_CHECK_S` have passed."""
    now = time.monotonic()
    known = _loaded.get((directory, name, lang))
    if known is not None and now - known[0] < RELOAD_CHECK_S:
        return known[1]
    found = environment(directory, lang).get_template(name)  # reloads only if the file changed
    _loaded[(directory, name, lang)] = (now, found)
    return found


def render(name: str, context: dict[str, Any], directory: Path | None = None) -> Rendered:
    """Render `name`.txt.j2 and `name`.html.j2 with the same context, in the language its "lang" names."""
    folder = directory or default_templates_dir()
    lang = str(context.get("lang") or ENGLISH)
    text = template(folder, f"{name}.txt.j2", lang).render(context)
    html = template(folder, f"{name}.html.j2", lang).render(context)
    return Rendered(text=text, html=html)


def render_line(name: str, context: dict[str, Any], directory: Path | None = None) -> str:
    """Render the one-line template `name`.txt.j2 (a subject) in the context's language, on one line."""
    folder = directory or default_templates_dir()
    text = template(folder, f"{name}.txt.j2", str(context.get("lang") or ENGLISH)).render(context)
    return " ".join(text.split())
