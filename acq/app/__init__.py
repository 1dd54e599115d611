"""acq.app: the top floor. The ``acq`` command, the demo session and their wiring.

Everything else is built below this package: the engine (``acq``), ``devices``,
``plans``, ``storage``, ``viz`` and ``iocs``. This package may import all of them;
none of them imports it, so the engine never points back up at the packages built on
it (tests/test_layers.py checks that). Heavy imports happen inside each subcommand, so
``acq --help`` stays instant.
"""
