"""The error a file that cannot be analysed raises, shared by the layers that read files."""


class SourceError(Exception):
    """A file that cannot be analysed; the message is the one-line reason shown to the user."""
