"""Every `vouch ...` command the README shows exists, with every flag it passes: the README's
shell blocks and inline code are read and each command is looked up in the CLI's own command
tree (the one `vouch --help` prints), so a renamed command or flag (`vouch search reindex`
became `vouch search --reindex`) fails here until the README follows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from client.cli import app

README = Path(__file__).resolve().parents[3] / "README.md"
VOUCH = re.compile(r"(?:^|[\s(`$])(?:\.\./)?(?:\.venv/bin/)?vouch ([^#`)]*)")


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    found: list[str] = []
    for block in re.findall(r"```(?:sh|yaml)\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            code = line.split(" # ")[0]
            if code.lstrip().startswith("#"):  # a comment line: prose, not a command
                continue
            found += [m.group(1) for m in VOUCH.finditer(code)]
    for span in re.findall(r"`(vouch [^`]+)`", text):
        found += [m.group(1) for m in VOUCH.finditer(span)]
    return sorted({c.strip().rstrip(";") for c in found if c.strip()})


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # an unbalanced quote in prose
        return command.split()


def _options(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def _group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def _check(root: Any, words: list[str], shown: str) -> None:
    """Walk ``words`` down the command tree (typer ships its own click, hence duck typing)."""
    command, path = root, ["vouch"]
    rest = [w for w in words if w != "..."]
    while _group(command) and rest and not rest[0].startswith("-"):
        word = rest.pop(0)
        alternatives = word.split("|")
        for alternative in alternatives[1:]:
            assert alternative in command.commands, f"`vouch {shown}`: no {alternative!r}"
        assert alternatives[0] in command.commands, (
            f"`vouch {shown}`: {' '.join(path)} has no command {alternatives[0]!r} "
            f"(it has {', '.join(sorted(command.commands))})")
        command = command.commands[alternatives[0]]
        path.append(alternatives[0])
    allowed = _options(command) | {"--help"}
    if _group(command) and not rest:
        return
    for word in rest:
        if word.startswith("-") and not word.startswith("-=") and len(word) > 1:
            flag = word.split("=", 1)[0]
            assert flag in allowed, (f"`vouch {shown}`: {' '.join(path)} takes no {flag} "
                                     f"(it takes {', '.join(sorted(allowed))})")


def test_the_readme_shows_commands() -> None:
    commands = readme_commands()
    assert "search --reindex" in commands and "search pad" in commands
    assert any(c.startswith("trusted-publisher add widget --identity") for c in commands)


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_exists_with_its_flags(command: str) -> None:
    root = typer.main.get_command(app)
    _check(root, _words(command), command)


def test_a_renamed_command_would_fail() -> None:
    root = typer.main.get_command(app)
    with pytest.raises(AssertionError, match="no command 'reindex'"):
        _check(root, ["admin", "reindex"], "admin reindex")
    with pytest.raises(AssertionError, match="takes no --reindexx"):
        _check(root, ["search", "--reindexx"], "search --reindexx")
