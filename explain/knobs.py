"""Knobs declared as data: every setting's default, bounds and help, written once.

A settings class lists its knobs beside its fields and checks itself against them when built, so the
app (which draws its widgets from the same declarations) and the CLI (which builds its arguments from
them) share one definition of what is allowed and one message when it is not.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from explain.errors import SettingsError


@dataclass(frozen=True)
class Knob:
    """One setting: what it is called, what it does, and which values it accepts."""

    name: str  # the settings field
    label: str  # as the app shows it
    help: str  # tooltip in the app, help text in the CLI
    default: Any
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None
    choices: tuple[Any, ...] | None = None  # the only values accepted, when set
    integer: bool = False
    optional: bool = False  # None is accepted and means `none_means`
    none_means: str = ""
    suggested: tuple[Any, ...] = ()  # values the app offers on a slider (within the bounds)
    flag: str = ""  # the CLI flag, e.g. "--max-steps"

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def bounds_text(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        kind = "a whole number" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} from {_fmt(self.low)} to {_fmt(self.high)}"
        if self.low is not None:
            return f"{kind} of at least {_fmt(self.low)}"
        if self.high is not None:
            return f"{kind} of at most {_fmt(self.high)}"
        return kind

    def check(self, value: Any) -> None:
        """Raise :class:`SettingsError` naming the knob, its bounds and the value when it is not allowed."""
        if value is None:
            if self.optional:
                return
            raise self._error(value)
        if self.choices is not None:
            if value not in self.choices:
                raise self._error(value)
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._error(value)
        if self.integer and not float(value).is_integer():
            raise self._error(value)
        if not math.isfinite(value):
            raise self._error(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise self._error(value)

    def _error(self, value: Any) -> SettingsError:
        auto = f" (or leave it unset for {self.none_means})" if self.optional and self.none_means else ""
        return SettingsError(
            f"{self.label} ({self.cli_flag}) must be {self.bounds_text()}{auto}; got {value!r}. "
            f"Default: {_fmt(self.default) if self.default is not None else self.none_means or 'unset'}."
        )


def check_knobs(settings: Any, knobs: Iterable[Knob]) -> None:
    """Check every declared field of ``settings`` against its knob."""
    for knob in knobs:
        knob.check(getattr(settings, knob.name))


def knob(knobs: Sequence[Knob], name: str) -> Knob:
    for k in knobs:
        if k.name == name:
            return k
    raise KeyError(f"No knob '{name}'. Available: {', '.join(k.name for k in knobs)}.")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(getattr(value, "value", value))


def add_knobs(parser: argparse.ArgumentParser, knobs: Sequence[Knob]) -> None:
    """One argument per knob, typed and documented from its declaration (bounds are checked when the
    settings are built, so the CLI and the app refuse the same values with the same message)."""
    for k in knobs:
        kind = int if k.integer else float if k.choices is None else str
        extra: dict[str, Any] = {"choices": [str(getattr(c, "value", c)) for c in k.choices]} if k.choices else {}
        default = k.none_means if k.default is None else getattr(k.default, "value", k.default)
        parser.add_argument(
            k.cli_flag,
            dest=k.name,
            type=kind,
            default=k.default,
            help=f"{k.help} ({k.bounds_text()}; default {default})",
            **extra,
        )


def settings_from(cls: Callable[..., Any], knobs: Sequence[Knob], args: argparse.Namespace) -> Any:
    """Build a settings object from parsed knob arguments; an out-of-bounds value raises SettingsError."""
    return cls(**{k.name: getattr(args, k.name) for k in knobs})
