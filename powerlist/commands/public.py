"""The villagers' side: receipt codes for 流程到哪了 and QR codes for door plates (户廉码).

Exit codes as everywhere: 0 done, 1 refused (no such matter or village), 2 invalid input.
"""

from __future__ import annotations

from pathlib import Path

import click

from engine.public.qr import DEFAULT_PUBLIC_URL
from powerlist.common import ID, State, echo_json, pass_state, reports_errors


@click.command()
@click.argument("instance_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
@reports_errors
def receipt(state: State, instance_id: int, as_json: bool) -> None:
    """The receipt code (回执码) of a matter, made on first use, for the applicant to look up its progress."""
    from engine.public import receipts

    with state.transaction() as session:
        code = receipts.display(receipts.receipt_for(session, instance_id))
    if as_json:
        echo_json({"instance": instance_id, "receipt": code, "path": f"/public/matters/{code}"})
    else:
        click.echo(f"{code}  /public/matters/{code}")


@click.command()
@click.argument("village_code")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="FILE.svg or FILE.png")
@click.option(
    "--base-url",
    default=None,
    help=f"Address of the web app as villagers reach it (default: $POWERLIST_PUBLIC_URL or {DEFAULT_PUBLIC_URL}).",
)
@pass_state
@reports_errors
def qr(state: State, village_code: str, out: str, base_url: str | None) -> None:
    """Write the QR code of a village's public page, to print on door plates (户廉码)."""
    from engine.public import qr as codes
    from engine.public.villages import public_village

    if Path(out).suffix.lower().lstrip(".") not in codes.FORMATS:
        raise click.BadParameter("the file must end in .svg or .png", param_hint="--out")
    if base_url is not None:
        try:
            base = codes.public_base_url(base_url, "--base-url")
        except codes.PublicUrlInvalid as exc:
            raise click.BadParameter(str(exc), param_hint="--base-url") from None
    else:
        base = codes.configured_base_url()
    with state.transaction() as session:
        village = public_village(session, village_code)
        url = codes.village_url(base, village.code)
    codes.write(url, out)
    click.echo(f"wrote {out}: {url}")


commands = [receipt, qr]
