"""我们的钱包: where the village's collective money went."""

from __future__ import annotations

from flask import render_template

from engine.public import wallet
from web import db
from web.public import bp


@bp.get("/villages/<code>/wallet")
def village_wallet(code: str) -> str:
    return render_template("public/wallet.html", wallet=wallet.wallet(db.session(), code))
