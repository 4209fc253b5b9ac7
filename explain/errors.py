"""Errors that the UI and the CLI show to users.

Every error is a ``ValueError`` subclass whose message says how to fix the problem, so pages can
catch exactly these, show the message, and keep the last good result.
"""

from __future__ import annotations


class GlimpseError(ValueError):
    """Base class: a problem the user can fix; the message says how."""


class InputError(GlimpseError):
    """The text cannot be analysed as given (empty, too long, ...)."""


class ModelSourceError(GlimpseError):
    """The requested model source is not allowed or does not exist."""


class ModelLoadError(GlimpseError):
    """The model was found but cannot be used (not BERT-family, no attentions, offline hub, ...)."""


class AttributionError(GlimpseError):
    """Attribution is not possible as asked (no classification head, unknown class, ...)."""


class ComputationError(GlimpseError):
    """A computation failed (out of memory, ...); the previous result is kept."""


class SettingsError(InputError):
    """A setting is outside its declared bounds (see ``explain.knobs``); the message names the bounds."""
