"""Every option of every command says what it does (the README sends users to --help)."""

from __future__ import annotations

import click

from skinaug.cli import main


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{name} {param.opts[0]}"
        for name, command in main.commands.items()
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert missing == []
