"""A value that cannot be had: what templates and the Terraform state reader return instead.

Its own module so that the template evaluator and the state reader (which it calls)
both name it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Missing:
    """A value that cannot be had, why, and what to do about it."""

    why: str
    fix: str
