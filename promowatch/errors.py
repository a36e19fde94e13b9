"""Errors shared by the core's modules, kept apart so that none of them imports another just for its error."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad input in a watchlist or profile. The message is one line a user can act on."""
