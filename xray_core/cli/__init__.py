"""``python -m xray_core <command>``: one module per command, assembled by :mod:`xray_core.cli.main`."""
