"""The one error type the command line turns into a sentence on stderr and a non-zero exit."""


class KratomAEError(Exception):
    """A problem the user can act on; its message is one complete sentence."""


class OpenFDAError(KratomAEError):
    """openFDA could not be reached or refused the request, or sent what cannot be read; the
    message says which."""
