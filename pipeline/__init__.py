"""The experiment pipeline."""
