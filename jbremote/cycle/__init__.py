"""A backup cycle: lanes per storage target, the jobs in them, and their records."""
