"""Configuration: models, loading, cross-checks, errors."""

from jbremote.config.errors import ConfigError, Problem
from jbremote.config.load import load_config, validate_data
from jbremote.config.models import Config, Job, Server, Target, ssh_settings

__all__ = [
    "Config",
    "ConfigError",
    "Job",
    "Problem",
    "Server",
    "Target",
    "load_config",
    "ssh_settings",
    "validate_data",
]
