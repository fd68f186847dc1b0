"""peftlint's version, in a module of its own so that nothing importing it imports the engine."""

__version__ = "0.1.0"
