"""Help that names what to type, not Python types.

Typer 0.29 shows each argument as `{DIR}` in the usage line and `DIR <Path>` in its list, and an
option without a metavar as `--term <list[str]>` or `--source <faers|caers|all>`. Researchers
read `--term TERM` and `--source faers|caers|all`; so every command of a group made with
PlainHelpGroup shows its parameters by metavar alone, and a parameter given none gets one here:
an argument its name in capitals, an option its choices joined by `|` or its name in capitals.

Help text is also wrapped without breaking at hyphens: the default database `kratom-ae.duckdb`
came out as `kratom-` and `ae.duckdb` on two lines, which a reader copies as two words.

Both reach into typer's internals (0.29: its vendored click); tests/test_cli.py walks every
command's help, so a typer that changes them fails the suite instead of printing types again.
"""

from __future__ import annotations

from typer._click import _textwrap
from typer.core import TyperArgument, TyperGroup, TyperOption


class UnbrokenHyphens(_textwrap.TextWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "break_on_hyphens": False})


# typer's wrap_text looks the class up in this module each time it wraps.
_textwrap.TextWrapper = UnbrokenHyphens


class PlainArgument(TyperArgument):
    def display_type_rich(self, ctx) -> None:
        return None

    def _usage_display_name(self) -> str:
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"


class PlainHelpGroup(TyperGroup):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            for param in command.params:
                plain(param)


def plain(param) -> None:
    if isinstance(param, TyperArgument):
        param.__class__ = PlainArgument
        param.metavar = param.metavar or param.name.upper()
    elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
        choices = param.type_descriptor.choices
        param.metavar = "|".join(str(getattr(c, "value", c)) for c in choices) if choices else param.name.upper()
