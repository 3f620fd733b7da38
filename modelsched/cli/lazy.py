"""A click group that imports each subcommand's module only when that command runs.

`modelsched --version` and `modelsched plan` then load only what they use (the Nomad
stack is imported by the Nomad driver and `render` alone). `--help` and shell
completion list every command, which imports them all: that is what they ask for.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """`commands` maps a command name to "module:attribute"."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy and cmd_name not in self.commands:
            module, _, attr = self._lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self._lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)
