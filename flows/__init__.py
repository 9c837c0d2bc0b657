"""Prefect wiring for jbremote: the backup-cycle flow, its tasks, limits and artifacts."""
