"""``python -m iocs.repeater``: EPICS base's CA repeater, from the libca that the
epicscorelibs wheel ships (it has no executable; caproto's repeater does not answer
libca's registration). It serves until its standard input closes, so it ends with the
process that started it (`iocs.processes.start_repeater`)."""

from __future__ import annotations

import ctypes
import os

from epicscorelibs.path import get_lib

from .processes import when_stdin_closes


def main() -> None:
    when_stdin_closes(lambda: os._exit(0))  # ca_repeater() has no way to return
    # ca_repeater() is exported with C++ linkage; it serves forever.
    ctypes.CDLL(get_lib("ca"))._Z11ca_repeaterv()


if __name__ == "__main__":
    main()
