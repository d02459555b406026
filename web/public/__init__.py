"""Pages for villagers, with no login: the power list and the record's daily digests, and each
village's page (reached from the QR code at home) with its wallet, subsidies, disclosures, decisions,
reports and progress lookup. Each area's views are a module of this package registering on ``bp``;
an area shows a section on the village page by adding to :data:`VILLAGE_SECTIONS`.

The digests are what the disclosure board (村务公开栏) shows: anyone who copied one down can later
ask an auditor to check it, and a deleted or rewritten record no longer matches."""

from __future__ import annotations

from web.public import decisions, disclosures, items, matters, subsidies, wallet  # noqa: F401,I001  (the views register on bp, in this order)
from web.public.blueprint import bp

__all__ = ["bp"]
