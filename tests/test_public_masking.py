"""Personal numbers never reach the public pages, however they were typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.public.masking import MASK, mask_personal
from engine.public.wallet import shown_payee, shown_purpose


def digits_in(text: str) -> str:
    return "".join(c for c in text if c.isdecimal())


@pytest.mark.parametrize(
    "text",
    [
        "4401 0119 9001 0112 34",
        "44010119900101123X",
        "4401-0119-9001-0112-3x",
        "440101900101123",
        "４４０１０１１９９００１０１１２３Ｘ",
        "138-1234-5678",
        "138 1234 5678",
        "+86 138 1234 5678",
        "(+86)13812345678",
        "0086 138.1234.5678",
        "１３８－１２３４－５６７８",
        "138\u30001234\u30005678",
        "138 — 1234 — 5678",
        "020-8888 6666",
        "(0571) 8888-6666",
        "０５７１（８８８８）６６６６",
        "6222 0000 1111 2222",
        "6222-0000-1111-2222-333",
    ],
)
def test_ids_phones_and_cards_in_any_form_are_masked(text: str) -> None:
    for shown in (mask_personal(text), mask_personal(f"收款人张三，号码{text}，谢谢")):
        assert MASK in shown
        assert digits_in(shown) == "", shown


@pytest.mark.parametrize(
    "text",
    [
        "村道路灯维修材料费",
        "2025-03-01 购买水泥 20 袋",
        "（2025.3.1）村部办公用品",
        "材料费1234.56元",
        "门牌12号3户",
        "第 3 批，共 12 户",
    ],
)
def test_ordinary_purposes_stay_readable(text: str) -> None:
    assert mask_personal(text) == text


def test_wallet_fields_are_masked_and_cut_after_masking() -> None:
    assert shown_payee("某五金店 6222 0000 1111 2222") == "某五金店 ***"
    assert shown_purpose("付李四 138-1234-5678 的工钱") == "付李四 *** 的工钱"
    assert shown_payee("店" * 98 + "13812345678") == "店" * 98 + "**"
    assert shown_payee(None) == "" and shown_purpose(12) == ""


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SEPARATORS = [" ", "  ", "-", " - ", "－", "—", "–", ".", "．", "\u3000", "\u00a0", "\t", "/", "_", "·", "\u200b"]
CONTEXT = st.text(alphabet="村道路灯维修费某五金店收款方张三李四电话身份证号码：:，,、 abcXYZ", max_size=12)


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


NUMBERS = st.one_of(
    st.tuples(st.sampled_from("3456789"), _digits(9)).map(lambda p: "1" + p[0] + p[1]),  # mobile
    st.tuples(_digits(17), st.sampled_from("0123456789Xx")).map("".join),  # ID, 18 characters
    _digits(15),  # ID, 15 digits
    st.tuples(st.sampled_from(["010", "020", "0571", "0755"]), _digits(8)).map("".join),  # landline
    st.integers(min_value=12, max_value=19).flatmap(_digits),  # bank card
)


@st.composite
def written(draw: st.DrawFn) -> tuple[str, str]:
    """A number as someone may type it: groups, separators, full-width digits, maybe +86."""
    number = draw(NUMBERS)
    pieces, start = [], 0
    while start < len(number):
        size = draw(st.integers(min_value=1, max_value=6))
        pieces.append(number[start : start + size])
        start += size
    text = pieces[0]
    for piece in pieces[1:]:
        text += draw(st.sampled_from(["", *SEPARATORS])) + piece
    text = text.translate(draw(st.sampled_from([{}, FULL_WIDTH, ARABIC_INDIC])))
    if number.startswith("1") and len(number) == 11:
        text = draw(st.sampled_from(["", "+86 ", "+86-", "(+86)", "＋８６ "])) + text
    return number, draw(CONTEXT) + text + draw(CONTEXT)


@given(written())
def test_a_typed_number_never_survives(sample: tuple[str, str]) -> None:
    number, text = sample
    shown = mask_personal(text)
    assert digits_in(shown) == "", (number, text, shown)
    assert MASK in shown
