"""The URL converter for ids: ``<int:instance_id>`` only matches numbers the database can hold.

It replaces Flask's ``int`` converter, so every route's id is checked without naming it: a number
outside the range is no match and answers 404, never a database error. ``<int:name>`` takes 1 to
2**31-1, the range of every id and version column on every supported database; a route on a
``BigId`` table may widen it with ``<int(big=True):name>`` (1 to 2**63-1).
"""

from __future__ import annotations

import builtins

from werkzeug.routing import IntegerConverter, Map

from engine.persistence.ids import MAX_ID_DIGITS, max_id


class IdConverter(IntegerConverter):
    """Flask's ``int`` (same arguments), bounded to the database's range; ASCII digits only."""

    regex = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
        big: bool = False,
    ) -> None:
        limit = max_id(big)
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=1 if min is None else min,
            max=limit if max is None else builtins.min(max, limit),
            signed=signed,
        )


CONVERTERS = {"int": IdConverter}
