"""followup: acknowledge worried clients early, check in, and escalate until there is a plan."""

__version__ = "0.1.0"
