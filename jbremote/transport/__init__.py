"""Remote command transports (SSH) and their shared types."""
