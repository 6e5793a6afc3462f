"""The one error type the command line turns into a sentence on stderr and a non-zero exit."""


class KratomAEError(Exception):
    """A problem the user can act on; its message is one complete sentence."""
