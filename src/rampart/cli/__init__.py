"""The ``rampart`` command line: one module per command group, wired in :mod:`rampart.cli.main`."""
