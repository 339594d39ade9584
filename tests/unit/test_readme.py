"""The README's shell blocks work as written: `followup` is on PATH where they use it, and parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from service.cli.app import build_parser

ROOT = Path(__file__).resolve().parents[2]
ACTIVATE = ". .venv/bin/activate"


def _shell_lines() -> list[tuple[int, str]]:
    """Every command line of the README's ```sh blocks (continuations joined), with its line number."""
    lines = (ROOT / "README.md").read_text().splitlines()
    out: list[tuple[int, str]] = []
    in_sh, pending, start = False, "", 0
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_sh = line.strip() == "```sh"
            continue
        if not in_sh:
            continue
        if not pending:
            start = number
        pending += line.rstrip("\\") + " "
        if not line.endswith("\\"):
            out.append((start, pending.strip()))
            pending = ""
    return out


def _followup_args(line: str) -> list[str] | None:
    """The arguments of a bare `followup` command on this line, or None when it runs none."""
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value before the command
        words = words[1:]
    return words[1:] if words and words[0] == "followup" else None


def test_the_readme_names_the_install_line_first() -> None:
    first = _shell_lines()[0][1]
    assert "python3 -m venv .venv" in first and ".venv/bin/pip install" in first
    assert ".venv/bin/followup demo" in first  # not a bare followup: nothing is activated yet


def test_every_bare_followup_comes_after_the_venv_is_activated() -> None:
    activated_at = None
    commands = 0
    for number, line in _shell_lines():
        if line.startswith(ACTIVATE):
            activated_at = number
        if _followup_args(line) is not None:
            commands += 1
            assert activated_at is not None, f"README.md:{number}: bare followup before {ACTIVATE!r}"
    assert commands >= 5


@pytest.mark.parametrize(("number", "line"), [
    (n, line) for n, line in _shell_lines() if _followup_args(line) is not None
])
def test_every_followup_command_in_the_readme_parses(number: int, line: str) -> None:
    args = _followup_args(line)
    assert args is not None
    try:
        parsed = build_parser().parse_args(args)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"README.md:{number}: {line!r} is refused by the parser (exit {exc.code})")
    assert parsed.command == args[0]
