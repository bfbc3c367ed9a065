"""The errors a user can fix: the command line reports them in one line, exit code 2. Anything
else that escapes a run is a bug: its traceback is shown, exit code 1."""


class UserError(Exception):
    """Bad input or environment (missing data, unreachable store, diverging training), not a bug."""


class ConfigError(ValueError, UserError):
    """A setting out of range, unknown, or at odds with another: raised where the setting enters
    (the app's checks, an architecture's or a dataset's options). A `ValueError` to library callers."""
