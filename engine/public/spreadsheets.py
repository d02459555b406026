"""One reader of the spreadsheets villages and towns keep: CSV (UTF-8, GB18030/GBK, UTF-16) and .xlsx.

``read_sheet(data, filename, columns, required)`` finds the header row among the first rows (a county
sheet often has a title row or two above it), maps each accepted header text to its canonical column
name, and gives every non-empty row below it as text, with the line number the user sees in Excel.

Whatever is wrong with the file (not a spreadsheet, an old .xls, a damaged zip, an unknown encoding, a
missing column, an ID number Excel turned into a float, too many rows) is a :class:`SheetInvalid` that
names the file, line and column; nothing else escapes. Formulas are never evaluated: an .xlsx gives the
value Excel saved with it, a CSV the text as typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import PowerlistError
from engine.texts import text, texts

__all__ = ["SheetInvalid", "SheetRow", "read_sheet", "column_letter", "HEADER_SCAN", "MAX_BYTES"]

HEADER_SCAN = 10  # rows searched for the header
MAX_BYTES = 10 * 1024 * 1024  # the file as uploaded
MAX_UNZIPPED = 100 * 1024 * 1024  # an .xlsx's parts, unpacked (a zip bomb stops here)
MAX_COLUMNS = 200
EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number; beyond that they are lost


class SheetInvalid(PowerlistError):
    """The spreadsheet cannot be read as asked; ``params`` carry ``file``, and where known ``line``,
    ``column`` (a letter, as Excel shows it) and ``header``."""

    exit_code = 2

    def __init__(
        self,
        message: str = "",
        *,
        code: str,
        filename: str,
        line: int | None = None,
        column: str | None = None,
        header: str | None = None,
        **more: object,
    ) -> None:
        params: dict[str, object] = {"file": filename, **more}
        if line is not None:
            params["line"] = line
        if column is not None:
            params["column"] = column
        if header is not None:
            params["header"] = header
        super().__init__(message, code=code, params=params, field=header)
        self.filename = filename
        self.line = line
        self.column = column
        self.header = header


@dataclass
class SheetRow:
    """One row of data: ``line`` as Excel numbers it (CSV: the record's number), ``values`` by canonical
    column name (text, stripped; an empty cell is ``""``); ``columns`` the letter of each column."""

    line: int
    values: dict[str, str]
    columns: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_SPACES = re.compile(r"[\s\u3000\u200b\ufeff]+")
# full-width （ ） ： ， as ASCII, and * or ＊ as a space
_FULL = {0xFF08: "(", 0xFF09: ")", 0xFF1A: ":", 0xFF0C: ",", ord("*"): " ", 0xFF0A: " "}


def _norm_header(text: str) -> str:
    return _SPACES.sub("", str(text).translate(_FULL)).strip(":").casefold()


def read_sheet(
    data: bytes,
    filename: str,
    columns: dict[str, tuple[str, ...]],
    required: frozenset[str] | set[str],
    max_rows: int = 20000,
    *,
    max_bytes: int = MAX_BYTES,
) -> list[SheetRow]:
    """The rows of ``data`` (a file named ``filename``) under the columns asked for.

    ``columns``: canonical name → the header texts accepted for it (matched ignoring spaces, case and
    full-width punctuation). ``required``: the names whose column must be there. Columns not asked for
    are not read; rows with nothing in the asked columns are skipped.
    """
    name = filename or text("public.sheets.unnamed")
    if not data:
        raise SheetInvalid(code="sheet.empty", filename=name)
    if len(data) > max_bytes:
        raise SheetInvalid(
            code="sheet.too_big",
            filename=name,
            size_kb=len(data) // 1024,
            limit_kb=max_bytes // 1024,
        )
    lower = name.lower()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or lower.endswith((".xls", ".et")):
        raise SheetInvalid(
            code="sheet.old_excel",
            filename=name,
        )
    if data[:2] == b"PK" or lower.endswith((".xlsx", ".xlsm")):
        grid = _xlsx_rows(data, name)
    elif lower.endswith((".ods", ".numbers", ".pdf", ".doc", ".docx")):
        raise SheetInvalid(code="sheet.not_a_sheet", filename=name)
    else:
        grid = _csv_rows(data, name)
    return _rows(grid, name, columns, frozenset(required), max_rows)


# -- the grid: (line, [cell text]) for every row of the file ------------------------------------------


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: Iterable[str] = ("utf-16",)
    elif data.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise SheetInvalid(
        code="sheet.encoding",
        filename=name,
    )


def _delimiter(text: str) -> str:
    sample = [line for line in text.splitlines()[: HEADER_SCAN + 5] if line.strip()]
    tabs = sum(line.count("\t") for line in sample)
    commas = sum(line.count(",") for line in sample)
    return "\t" if tabs > commas else ","


def _csv_rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    line = 0
    try:
        for line, record in enumerate(reader, start=1):
            yield line, [cell.strip() for cell in record[:MAX_COLUMNS]]
    except csv.Error as exc:
        raise SheetInvalid(
            code="sheet.csv_broken",
            filename=name,
            reason=str(exc),
            line=line + 1,
        ) from None


def _unreadable(name: str) -> SheetInvalid:
    return SheetInvalid(
        code="sheet.unreadable",
        filename=name,
    )


def _xlsx_rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _unreadable(name) from None
    if unpacked > MAX_UNZIPPED:
        raise SheetInvalid(
            text("public.sheets.too_big_unpacked", file=name, mb=MAX_UNZIPPED // (1024 * 1024)),
            code="sheet.too_big",
            filename=name,
            size_kb=unpacked // 1024,
            limit_kb=MAX_UNZIPPED // 1024,
        )
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises anything from KeyError to XML errors on a damaged file
        raise _unreadable(name) from None
    try:
        sheet = book.active if book.active is not None else book.worksheets[0]
        rows = sheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        line = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                break
            except Exception:
                raise _unreadable(name) from None
            line += 1
            yield line, [_cell_text(value) for value in values]
    except IndexError:
        raise _unreadable(name) from None
    finally:
        book.close()


class _LostDigits(str):
    """A number of more than 15 digits Excel stored as a float: its last digits are gone. Refused
    only when it is in a column asked for (a bank account column nobody reads is no matter)."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return text("public.sheets.yes") if value else text("public.sheets.no")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if abs(value) >= 10**EXACT_DIGITS:
            return _LostDigits(f"{value:.15g}")
        if value.is_integer():
            return str(int(value))
        return f"{value:.10f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


# -- header and rows ------------------------------------------------------------------------------------


def _rows(
    grid: Iterator[tuple[int, list[str]]],
    name: str,
    columns: dict[str, tuple[str, ...]],
    required: frozenset[str],
    max_rows: int,
) -> list[SheetRow]:
    accepted: dict[str, str] = {}
    for canonical, names in columns.items():
        for name_text in (*names, canonical):
            accepted.setdefault(_norm_header(name_text), canonical)
    seen: list[tuple[int, list[str]]] = []
    header: dict[str, int] | None = None
    headers: dict[str, str] = {}
    best: set[str] = set()
    for line, cells in grid:
        seen.append((line, cells))
        found: dict[str, int] = {}
        for index, cell in enumerate(cells):
            canonical = accepted.get(_norm_header(cell)) if cell else None
            if canonical is None:
                continue
            if canonical in found:
                raise SheetInvalid(
                    code="sheet.duplicate_column",
                    filename=name,
                    line=line,
                    column=column_letter(index),
                    header=cell,
                    other=column_letter(found[canonical]),
                )
            found[canonical] = index
        if found and required <= found.keys():
            header = found
            headers = {canonical: cells[index] for canonical, index in found.items()}
            break
        if len(found) > len(best):
            best = set(found)
        if len(seen) >= HEADER_SCAN:
            break
    if header is None:
        missing = [columns[c][0] if columns.get(c) else c for c in sorted(required - best, key=list(columns).index)]
        separator = text("public.list.separator")
        if not seen:
            raise SheetInvalid(text("public.sheets.nothing", file=name), code="sheet.empty", filename=name)
        raise SheetInvalid(
            code="sheet.missing_columns",
            filename=name,
            missing=separator.join(missing),
            scanned=HEADER_SCAN,
        )
    letters = {canonical: column_letter(index) for canonical, index in header.items()}
    rows: list[SheetRow] = []
    for line, cells in grid:
        values = {canonical: (cells[index] if index < len(cells) else "") for canonical, index in header.items()}
        if not any(values.values()):
            continue
        for canonical, value in values.items():
            if isinstance(value, _LostDigits):
                raise SheetInvalid(
                    code="sheet.number_lost_digits",
                    filename=name,
                    value=str(value),
                    line=line,
                    column=letters[canonical],
                    header=headers[canonical],
                )
        if len(rows) >= max_rows:
            raise SheetInvalid(
                code="sheet.too_many_rows",
                filename=name,
                line=line,
                limit=max_rows,
            )
        rows.append(SheetRow(line, values, letters))
    return rows


CENT = Decimal("0.01")


def cell_yuan(text: str, most: Decimal, negative: bool = False) -> Decimal | str:
    """A sum of yuan as a cell holds it (1,234.50 ¥1234.5 300元), or why it is none: ``"number"``,
    ``"negative"`` (unless ``negative`` sums are allowed), ``"size"`` (beyond ``most``: 1e400 or 29 digits
    are typing slips, checked before any rounding) or ``"cents"`` (more than two decimals)."""
    yuan = texts("public.sheets.yuan")  # the full-width comma, the yuan signs, the unit
    cleaned = text.strip().replace(",", "").replace(yuan["comma"], "").lstrip(yuan["signs"])
    cleaned = cleaned.removesuffix(yuan["unit"]).strip()
    if len(cleaned) > 40:
        return "number"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return "number"
    if not value.is_finite():
        return "number"
    if value < 0 and not negative:
        return "negative"
    if abs(value) > most:
        return "size"
    if value != value.quantize(CENT):
        return "cents"
    return value
