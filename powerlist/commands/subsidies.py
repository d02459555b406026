"""补贴去哪了: import, publish and list subsidy rosters; make household lookup codes.

Exit codes as everywhere: 0 done, 1 refused, 2 invalid input.
"""

from __future__ import annotations

commands: list = []
