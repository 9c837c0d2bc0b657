"""Configuration: models, loading, cross-checks, errors."""
