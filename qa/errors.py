"""The one exception type users see: its message is a complete one-line explanation."""


class KzqaError(Exception):
    """A problem the user can act on (bad input, unusable index, missing file)."""


class IndexDamaged(KzqaError):
    """The index folder exists but its files are unreadable, truncated or inconsistent."""
