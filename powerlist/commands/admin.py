"""Administration from the command line: users, their roles and passwords, API tokens, org units,
and which counties each flow is published to.

The command line acts as the province-level operator: it manages every county. Exit codes as
everywhere: 0 done, 1 refused (unknown user, wrong level), 2 invalid input.
"""

from __future__ import annotations

import sys

import click

from engine.persistence.enums import Level
from powerlist.common import SMALL_ID, State, echo_json, pass_state, reports_errors


def _password(value: str | None, generate: bool) -> tuple[str, bool]:
    """The password given, read from stdin ('-'), or generated; and whether to print it."""
    from engine.workspace.people import generated_password

    if generate:
        return generated_password(), True
    if value == "-":
        return sys.stdin.readline().rstrip("\n"), False
    if value:
        return value, False
    return click.prompt("password", hide_input=True, confirmation_prompt=True), False


@click.group()
def user() -> None:
    """Add users, set passwords, grant roles, deactivate."""


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name (姓名).")
@click.option("--password", default=None, help="The password; '-' reads it from stdin; prompted when omitted.")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@click.option("--role", default=None, help="Grant a role at once (needs --unit).")
@click.option("--unit", default=None, help="Code of the village, town or county of --role.")
@pass_state
@reports_errors
def user_add(
    state: State,
    username: str,
    display_name: str,
    password: str | None,
    generate_password: bool,
    role: str | None,
    unit: str | None,
) -> None:
    """Create a user (and optionally grant a role)."""
    from engine.workspace import people

    if (role is None) != (unit is None):
        raise click.BadParameter("--role and --unit go together")
    secret, show = _password(password, generate_password)
    with state.transaction() as session:
        people.add_user(session, None, username, display_name, secret)
        if role and unit:
            people.grant_role(session, None, username.strip().lower(), role, unit)
    click.echo(f"added {username.strip().lower()}")
    if show:
        click.echo(f"password: {secret}")


@user.command("passwd")
@click.argument("username")
@click.option("--password", default=None, help="The new password; '-' reads it from stdin; prompted when omitted.")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@pass_state
@reports_errors
def user_passwd(state: State, username: str, password: str | None, generate_password: bool) -> None:
    """Set a user's password."""
    from engine.workspace import people

    secret, show = _password(password, generate_password)
    with state.transaction() as session:
        people.set_password(session, None, username, secret)
    click.echo(f"password of {username} changed")
    if show:
        click.echo(f"password: {secret}")


@user.command("grant")
@click.argument("username")
@click.argument("role")
@click.argument("unit")
@pass_state
@reports_errors
def user_grant(state: State, username: str, role: str, unit: str) -> None:
    """Grant ROLE in UNIT (a village, town or county code) to USERNAME."""
    from engine.workspace import people

    with state.transaction() as session:
        people.grant_role(session, None, username, role, unit)
    click.echo(f"{username} holds {role}@{unit}")


@user.command("revoke")
@click.argument("username")
@click.argument("role")
@click.argument("unit")
@pass_state
@reports_errors
def user_revoke(state: State, username: str, role: str, unit: str) -> None:
    """Take ROLE in UNIT away from USERNAME."""
    from engine.workspace import people

    with state.transaction() as session:
        people.revoke_role(session, None, username, role, unit)
    click.echo(f"{username} no longer holds {role}@{unit}")


@user.command("deactivate")
@click.argument("username")
@click.option("--activate", is_flag=True, help="Let a deactivated user sign in again.")
@pass_state
@reports_errors
def user_deactivate(state: State, username: str, activate: bool) -> None:
    """Stop a user from signing in (their history stays)."""
    from engine.workspace import people

    with state.transaction() as session:
        people.set_active(session, None, username, activate)
    click.echo(f"{username} {'activated' if activate else 'deactivated'}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def user_list(state: State, as_json: bool) -> None:
    """List users and their roles."""
    from engine.workspace import people

    with state.transaction() as session:
        rows = people.users(session, None)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        roles = ", ".join(f"{r['role']}@{r['unit_code']}" for r in row["roles"]) or "-"
        flag = "" if row["active"] else " (deactivated)"
        click.echo(f"{row['username']:<28} {row['display_name']} [{roles}]{flag}")


@click.group()
def token() -> None:
    """API tokens for integrations."""


@token.command("create")
@click.option("--as", "username", required=True, help="The user the token acts as.")
@click.option("--name", default="integration", help="What the token is for.")
@pass_state
@reports_errors
def token_create(state: State, username: str, name: str) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    from engine.workspace import tokens

    with state.transaction() as session:
        secret = tokens.create(session, username, name, None)
    click.echo(secret)


@token.command("list")
@click.option("--as", "username", default=None, help="Only this user's tokens.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def token_list(state: State, username: str | None, as_json: bool) -> None:
    """List tokens (never their text)."""
    from engine.workspace import tokens

    with state.transaction() as session:
        rows = tokens.listing(session, None, username)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state_text = "revoked" if row["revoked"] else "active"
        click.echo(f"{row['id']:>4} {row['prefix']}…  {row['username']:<24} {row['name']} ({state_text})")


@token.command("revoke")
@click.argument("token_id", type=SMALL_ID)
@pass_state
@reports_errors
def token_revoke(state: State, token_id: int) -> None:
    """Revoke a token by its id (see 'powerlist token list')."""
    from engine.workspace import tokens

    with state.transaction() as session:
        tokens.revoke(session, token_id, None)
    click.echo(f"token {token_id} revoked")


@click.group()
def unit() -> None:
    """Counties, towns and villages."""


@unit.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--level", type=click.Choice([level.value for level in Level]), required=True)
@click.option("--parent", default=None, help="Code of the county (for a town) or town (for a village).")
@pass_state
@reports_errors
def unit_add(state: State, code: str, name: str, level: str, parent: str | None) -> None:
    """Add a county, a town in a county, or a village in a town."""
    from engine.workspace import people

    with state.transaction() as session:
        people.add_unit(session, None, code, name, level, parent)
    click.echo(f"added {level} {code} {name}")


@click.command()
@click.argument("key")
@click.option("--county", "counties", multiple=True, required=True, help="County code (repeatable).")
@pass_state
@reports_errors
def publish(state: State, key: str, counties: tuple[str, ...]) -> None:
    """Publish the deployed flow KEY to more counties: their villages may start its matters."""
    from engine.definitions.deploy import publish as publish_flow

    with state.transaction() as session:
        added = publish_flow(session, key, list(counties), None)
    click.echo(f"{key} published to {', '.join(added)}" if added else f"{key} was already published there")


@click.command()
@click.argument("key")
@click.option("--county", "counties", multiple=True, required=True, help="County code (repeatable).")
@pass_state
@reports_errors
def unpublish(state: State, key: str, counties: tuple[str, ...]) -> None:
    """Withdraw flow KEY from counties: no new matters there; running matters carry on."""
    from engine.definitions.deploy import unpublish as unpublish_flow

    with state.transaction() as session:
        removed = [code for code in dict.fromkeys(counties) if unpublish_flow(session, key, code, None)]
    click.echo(f"{key} withdrawn from {', '.join(removed)}" if removed else f"{key} was not published there")


commands = [user, token, unit, publish, unpublish]
