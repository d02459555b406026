"""Tables of 我们的钱包: the village's collective accounts as imported month by month.

The town's 三资中心 keeps the accounts (村账镇代管) and exports each month's journal (序时账) from its
accounting system; a :class:`LedgerImport` is one such file for one village and month, kept with its
SHA-256. Importing the month again replaces it (the old import stays, marked replaced, its lines no
longer counted), so what the public page showed before can still be traced.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.models import Base, BigId


class LedgerImport(Base):
    """One month's journal of one village, as imported (``replaced_at`` set once a newer one replaced it)."""

    __tablename__ = "ledger_import"
    __table_args__ = (Index("ix_ledger_import_village_id_month", "village_id", "month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int]
    income_fen: Mapped[int] = mapped_column(BigInteger)
    spending_fen: Mapped[int] = mapped_column(BigInteger)
    opening_fen: Mapped[int | None] = mapped_column(BigInteger)  # the month's opening balance (期初余额), when given
    year_opening_fen: Mapped[int | None] = mapped_column(BigInteger)  # the year's (January's, or 上年结转/年初余额)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]
    replaced_at: Mapped[datetime | None]
    replaces_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(String(200))


class LedgerLine(Base):
    """One line of a month's journal: income or spending in fen, with its voucher and summary."""

    __tablename__ = "ledger_line"
    __table_args__ = (Index("ix_ledger_line_village_id_day", "village_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_import.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    line_no: Mapped[int]
    day: Mapped[str] = mapped_column(String(10))  # ISO date
    voucher_no: Mapped[str | None] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))  # a code of wallet.yaml's categories
    income_fen: Mapped[int] = mapped_column(BigInteger)
    spending_fen: Mapped[int] = mapped_column(BigInteger)
