"""The shared spreadsheet reader: CSV in any of the encodings villages save, .xlsx, and every way a file
can be wrong refused with its file, line and column, never an unexpected error."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from engine.public.spreadsheets import SheetInvalid, column_letter, read_sheet

COLUMNS = {
    "name": ("户主姓名", "姓名"),
    "id_number": ("身份证号", "身份证号码"),
    "amount": ("金额(元)", "金额"),
    "bank": ("银行卡号",),
}
REQUIRED = {"name", "id_number", "amount"}


def xlsx(rows: list[list[object]], *, text_columns: tuple[int, ...] = ()) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_csv_in_gb18030_with_title_rows_and_full_width_headers():
    text = (
        "上塘村2026年11月低保名册\n\n户主姓名, 身份证号码 ,金额（元）,备注\n"
        "张三,11010519491231002X,300.50,\n,,,\n李四,110105194912310021,200,\n"
    )
    rows = read_sheet(text.encode("gb18030"), "名册.csv", COLUMNS, REQUIRED)
    assert [(r.line, r.values["name"], r.values["amount"]) for r in rows] == [(4, "张三", "300.50"), (6, "李四", "200")]
    assert rows[0].columns["id_number"] == "B"
    assert "bank" not in rows[0].values


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_csv_in_utf8_with_or_without_bom_and_excel_unicode_text_with_tabs(encoding):
    text = "姓名\t身份证号\t金额\n王五\t110105194912310021\t12\n"
    rows = read_sheet(text.encode(encoding), "x.txt", COLUMNS, REQUIRED)
    assert rows[0].values == {"name": "王五", "id_number": "110105194912310021", "amount": "12"}


def test_xlsx_title_row_blank_header_cells_dates_and_numbers():
    import datetime as dt

    data = xlsx(
        [
            ["清溪县上塘村耕地地力保护补贴发放表", None, None, None],
            [None, "户主姓名", "身份证号", "金额(元)", None, "发放日期"],
            [1, "张三", "11010519491231002X", 315.5, None, dt.datetime(2026, 11, 3)],
            [None, None, None, None],
            [2, "李四", "110105194912310021", 1200.0, "x", 45000],
        ]
    )
    columns = {**COLUMNS, "paid_on": ("发放日期",)}
    rows = read_sheet(data, "表.xlsx", columns, REQUIRED)
    assert [r.line for r in rows] == [3, 5]
    assert rows[0].values["amount"] == "315.5" and rows[0].values["paid_on"] == "2026-11-03"
    assert rows[1].values["id_number"] == "110105194912310021" and rows[1].values["amount"] == "1200"
    assert rows[0].columns["id_number"] == "C"


def test_an_id_number_excel_stored_as_a_float_is_refused_naming_the_cell_but_not_in_an_unread_column():
    data = xlsx([["姓名", "身份证号", "金额", "银行卡号"], ["张三", 1.10105194912310e17, 1, 6.22848e18]])
    with pytest.raises(SheetInvalid) as caught:
        read_sheet(data, "表.xlsx", COLUMNS, REQUIRED)
    assert caught.value.code == "sheet.number_lost_digits"
    assert (caught.value.line, caught.value.column, caught.value.header) == (2, "B", "身份证号")
    assert "第 2 行 B 列" in str(caught.value)
    only = {k: v for k, v in COLUMNS.items() if k in ("name", "amount")}
    data = xlsx([["姓名", "金额", "银行卡号"], ["张三", 1, 6.22848e18]])
    assert read_sheet(data, "表.xlsx", only, {"name"})[0].values == {"name": "张三", "amount": "1"}


def test_formula_cells_give_their_saved_value_never_the_formula():
    data = xlsx([["姓名", "身份证号", "金额"], ["张三", "x", "=1+1"]])
    rows = read_sheet(data, "表.xlsx", COLUMNS, REQUIRED)
    assert rows[0].values["amount"] == ""  # never calculated by Excel: no saved value, never evaluated


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/big.xml", b"\0" * (101 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"", "a.csv", "sheet.empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.xls", "sheet.old_excel"),
        (b"whatever", "a.xls", "sheet.old_excel"),
        (b"PK\x03\x04 damaged", "a.xlsx", "sheet.unreadable"),
        (b"not a zip", "a.xlsx", "sheet.unreadable"),
        (b"\xff\xfe\x00\xd8\x00", "a.csv", "sheet.encoding"),
        (b"\x81\x30\xff\xff\xff", "a.csv", "sheet.encoding"),
        ("姓名,备注\n张三,x\n".encode(), "a.csv", "sheet.missing_columns"),
        ("姓名,姓名,身份证号,金额\n".encode(), "a.csv", "sheet.duplicate_column"),
        ('姓名,身份证号,金额\n"张三,1,2\n'.encode(), "a.csv", "sheet.csv_broken"),
        (b"x" * (10 * 1024 * 1024 + 1), "a.csv", "sheet.too_big"),
        (_bomb(), "a.xlsx", "sheet.too_big"),
    ],
)
def test_every_bad_file_is_a_sheet_invalid_naming_the_file(data, filename, code):
    with pytest.raises(SheetInvalid) as caught:
        read_sheet(data, filename, COLUMNS, REQUIRED)
    assert caught.value.code == code
    assert filename in str(caught.value)
    assert caught.value.exit_code == 2


def test_row_limit():
    text = "姓名,身份证号,金额\n" + "张三,1,2\n" * 6
    assert len(read_sheet(text.encode(), "a.csv", COLUMNS, REQUIRED, max_rows=6)) == 6
    with pytest.raises(SheetInvalid) as caught:
        read_sheet(text.encode(), "a.csv", COLUMNS, REQUIRED, max_rows=5)
    assert caught.value.code == "sheet.too_many_rows" and caught.value.line == 7


def test_missing_columns_named():
    with pytest.raises(SheetInvalid) as caught:
        read_sheet("标题\n姓名,备注\n".encode(), "a.csv", COLUMNS, REQUIRED)
    assert caught.value.params["missing"] == "身份证号、金额(元)"


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
