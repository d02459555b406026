"""Command groups of each product area; each module exposes ``commands``, a list of click commands."""

from __future__ import annotations

import click

from powerlist.commands import (
    admin,
    audit,
    backup,
    catalog,
    disclosures,
    doctor,
    ledger,
    matters,
    notices,
    public,
    register,
    subsidies,
    supervision,
)

# The areas in the order their commands are added (the order ``powerlist --help`` lists them in).
MODULES = (
    supervision,
    audit,
    catalog,
    admin,
    public,
    matters,
    register,
    doctor,
    backup,
    notices,
    subsidies,
    ledger,
    disclosures,
)


def register_all(group: click.Group) -> None:
    for module in MODULES:
        for command in module.commands:
            group.add_command(command)
