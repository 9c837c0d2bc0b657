"""The per-job lifecycle: trigger → started → finished → verified, Prefect-free."""
