"""jbremote: one writer per storage target for JetBackup 5 fleets."""

__version__ = "0.1.0"
