"""The application's one error class: a message that says it all, shown as it is."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """A command cannot do what was asked; the message names what and what to do.

    ``acq`` prints it as ``acq COMMAND: error: MESSAGE`` (other exceptions get their type
    name in front, which helps when the message alone is terse).
    """
