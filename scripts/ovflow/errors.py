"""The base of the workflow's own error types.

An OvflowError is an anticipated problem (a bad config value, a wrong checksum, a corrupt image,
an unusable model) whose message already says everything in one line naming the file or key.
"""

from __future__ import annotations


class OvflowError(Exception):
    """An anticipated failure explained by its one-line message."""
