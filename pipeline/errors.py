"""The base of errors a user can fix: the command line reports them in one line, exit code 2."""


class UserError(Exception):
    """Bad input or environment (missing data, unreachable store, diverging training), not a bug."""
