"""The ``tvdb`` command."""
