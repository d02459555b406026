"""Tables of 三务公开: each periodic disclosure, what it showed, its digest and its posting."""

from __future__ import annotations
