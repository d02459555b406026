"""The blueprints of the app, one per user group, registered in this order.

Each module exposes ``bp`` (a :class:`flask.Blueprint`); a module that sets ``csrf_exempt = True``
authenticates every request itself (the token API). Add an area by adding its module here.
"""

from __future__ import annotations

from types import ModuleType

from web import admin, api, auditor, auth, cadre, public, site, supervise

BLUEPRINTS: tuple[ModuleType, ...] = (auth, cadre, admin, auditor, supervise, public, api, site)
