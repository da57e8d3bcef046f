"""One exception type for bad input: the CLIs print its message on one line and exit 2."""


class JnrError(Exception):
    """A user-facing error: the message is the whole story, no traceback needed."""

    exit_code = 2
