"""三务公开: generate, review and post the periodic disclosures; list what is due.

Exit codes as everywhere: 0 done, 1 refused, 2 invalid input.
"""

from __future__ import annotations

commands: list = []
