"""Jinja2 rendering of operator-editable templates: sandboxed, strict, HTML autoescaped."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment


@lru_cache(maxsize=1)  # asked once per rendered message; the answer never changes
def default_templates_dir() -> Path:
    """Templates shipped in the wheel, or the checkout's templates/ in development."""
    packaged = Path(__file__).with_name("templates")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


@lru_cache(maxsize=8)
def environment(directory: Path) -> SandboxedEnvironment:
    """One environment per template folder, built once per process."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, context: dict[str, Any], directory: Path | None = None) -> Rendered:
    """Render `name`.txt.j2 and `name`.html.j2 with the same context."""
    env = environment(directory or default_templates_dir())
    text = env.get_template(f"{name}.txt.j2").render(context)
    html = env.get_template(f"{name}.html.j2").render(context)
    return Rendered(text=text, html=html)
