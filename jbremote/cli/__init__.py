"""The jbremote command line (typer)."""
