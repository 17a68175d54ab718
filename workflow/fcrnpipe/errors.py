"""Errors meant for the user (bad input, bad configuration), shown without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's data or configuration.

    Rule scripts catch it (see :func:`fcrnpipe.runner.run`) and print the message alone,
    so the user sees what to fix, not a Python traceback.
    """


class ValidationFailed(UserError):
    """Input data broke the contract; the message names the report and the first failures."""
