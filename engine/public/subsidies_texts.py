"""The wording of the error codes of 补贴去哪了 (subsidy rosters and the household lookup),
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`.

The ``sheet.*`` codes are those of the shared spreadsheet reader (:mod:`engine.public.spreadsheets`).
"""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {
    # the spreadsheet reader
    "sheet.empty": ("{file}：文件是空的", "{file}: the file is empty"),
    "sheet.too_big": (
        "{file}：文件有 {size_kb} KB，超过了 {limit_kb} KB 的上限",
        "{file}: the file has {size_kb} KB, above the limit of {limit_kb} KB",
    ),
    "sheet.old_excel": (
        "{file}：旧版 Excel（.xls）或加了密码的表格读不了，请另存为 .xlsx 或 CSV",
        "{file}: an old Excel (.xls) or password-protected file cannot be read; save it as .xlsx or CSV",
    ),
    "sheet.not_a_sheet": (
        "{file}：只收 .xlsx 或 CSV 表格",
        "{file}: only .xlsx or CSV spreadsheets are accepted",
    ),
    "sheet.encoding": (
        "{file}：读不出文字（不是 UTF-8 或 GB18030 编码的 CSV）",
        "{file}: the text cannot be read (not a CSV in UTF-8 or GB18030)",
    ),
    "sheet.csv_broken": (
        "{file} 第 {line} 行：CSV 格式有误，多半是引号没有配对",
        "{file} line {line}: the CSV is malformed, most likely an unmatched quote",
    ),
    "sheet.unreadable": (
        "{file}：打不开这个 Excel 文件（文件损坏或不是 .xlsx）",
        "{file}: this Excel file cannot be opened (damaged or not .xlsx)",
    ),
    "sheet.duplicate_column": (
        "{file} 第 {line} 行：{other} 列和 {column} 列是同一类的列（{header}）",
        "{file} line {line}: columns {other} and {column} are both '{header}'",
    ),
    "sheet.missing_columns": (
        "{file}：在前 {scanned} 行里找不到表头，缺少这些列：{missing}",
        "{file}: no header row in the first {scanned} rows; missing columns: {missing}",
    ),
    "sheet.too_many_rows": (
        "{file}：超过 {limit} 行，请分成几个文件",
        "{file}: more than {limit} rows; split it into several files",
    ),
    "sheet.number_lost_digits": (
        "{file} 第 {line} 行 {column} 列（{header}）：Excel 已把这个长数字的后几位丢了，请把这一列设为文本后重填",
        "{file} line {line} column {column} ({header}): Excel dropped the last digits of this long number; "
        "format the column as text and type it again",
    ),
    # rosters
    "subsidy.unknown_kind": (
        "没有「{kind}」这一类补贴；可用的有：{kinds}",
        "no kind of subsidy '{kind}'; the kinds are {kinds}",
    ),
    "subsidy.bad_period": (
        "这类补贴的期间应写作 {example}，不是「{period}」",
        "this kind's period is written like {example}, not '{period}'",
    ),
    "subsidy.denied": (
        "{user} 无权办理村 {village} 的补贴名册",
        "{user} may not do this for the subsidy rosters of village {village}",
    ),
    "subsidy.rows_invalid": (
        "{file} 有 {count} 处问题，名册没有导入",
        "{file} has {count} problems; nothing was imported",
    ),
    "subsidy.exists": (
        "村 {village} {period} 的这类补贴名册已经发布（#{roster}），要替换请选择替换",
        "the {kind} roster of village {village} for {period} is already published (#{roster}); choose replace",
    ),
    "subsidy.not_found": ("没有编号为 {roster} 的补贴名册", "no subsidy roster #{roster}"),
    "subsidy.reason_needed": (
        "撤下名册要写明原因（2 到 {max} 个字）",
        "withdrawing a roster needs a reason (2 to {max} characters)",
    ),
    "subsidy.not_published": ("名册 #{roster} 已经不在公布中", "roster #{roster} is no longer published"),
}
