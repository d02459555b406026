"""The blueprints of the app, one per user group, registered in this order.

Each module exposes ``bp`` (a :class:`flask.Blueprint`); a module that sets ``csrf_exempt = True``
authenticates every request itself (the token API). Add an area by adding its module here.
"""

from __future__ import annotations

BLUEPRINTS: list[str] = [
    "web.auth",
    "web.cadre",
    "web.admin",
    "web.auditor",
    "web.supervise",
    "web.public",
    "web.api",
    "web.site",
]
