"""我们的钱包: import a village's monthly accounts journal and list what the wallet shows.

Exit codes as everywhere: 0 done, 1 refused, 2 invalid input.
"""

from __future__ import annotations

commands: list = []
