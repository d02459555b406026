"""Command groups of each product area; each module exposes ``commands``, a list of click commands."""

from __future__ import annotations

import importlib

import click

MODULES = (
    "supervision",
    "audit",
    "catalog",
    "admin",
    "public",
    "matters",
    "register",
    "doctor",
    "backup",
    "notices",
    "subsidies",
    "ledger",
    "disclosures",
)


def register_all(group: click.Group) -> None:
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for command in getattr(module, "commands", []):
            group.add_command(command)
