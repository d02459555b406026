"""Limits on what anyone may send from the public pages (reports, household lookups), counted in the
database so that every web process applies the same limit."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock

IPV6_NETWORK = 64


def sender(address: str | None) -> str:
    """Whom a limit counts: an IPv4 address as it is, an IPv6 address by its /64 network (one
    household's or phone's, whose addresses rotate within it; an IPv4 address mapped into IPv6 as the
    IPv4 address); anything else as given."""
    text = (address or "unknown").strip()
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(parsed), IPV6_NETWORK), strict=False))
    return str(parsed)


def wait_seconds(session: Session, attempts: Any, address: str, tries: int, window: timedelta) -> int:
    """Seconds until ``address`` may try again, given ``attempts`` (a table with ``address`` and ``at``)
    allows ``tries`` within ``window``; 0 when it may now."""
    now = clock.now()
    recent = list(
        session.scalars(
            select(attempts.at).where(attempts.address == address, attempts.at > now - window).order_by(attempts.at)
        )
    )
    if len(recent) < tries:
        return 0
    unlock = clock.as_utc(recent[-tries]) + window
    return max(int((unlock - now).total_seconds()) + 1, 1)
