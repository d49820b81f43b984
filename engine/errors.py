"""Errors that are the user's to fix: each carries one clear line naming what and where."""
from __future__ import annotations


class UserError(Exception):
    """Bad input from a user. ``str(err)`` is the whole message; the CLI prints it and exits 2."""


class PlanError(UserError):
    pass


class ConfigError(UserError):
    pass


class RepoError(UserError):
    pass


class CommandError(Exception):
    """A command to a running plan that cannot be carried out now; the text is for the user."""
