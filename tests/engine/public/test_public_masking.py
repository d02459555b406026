"""Personal numbers never reach the public pages, however they were typed."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.public.masking import MASK, ORGANISATION_SUFFIXES, mask_payee, mask_personal
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
        "33022619800101121x",
        "3302 2619 8001 0112 1x",
        "139、1234、5678",
        "电话：139，1234，5678",
        "139:1234:5678",
        "139；1234；5678",
        "330226，19800101，121X",
        "6222，0000，1111，2222，333",
        "0574、8765、4321",
        "139\n1234\n5678",
        "139\r\n1234 5678",
        "+86-139-1234-5678",
        "+86，139，1234，5678",
        "0086 13912345678",
        "CN12 3456 7890 1234 5678 90",
        "139 1234 5678元",
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
        "决2026-003",
        "按QX0101-2026-J-003决议支付",
        "回执码 ABCD-EFGH-JKLM",
        "回执码 AB23-4567-89CD",
        "回执码 ab23 4567 89cd",
        "1234.50元",
        "¥80,000.00",
        "￥ 80000.00",
        "12.5万元",
        "80000000.00元",
        "1200000 元",
        "120,000元",
        "2026-03-01 10:30:00",
        "2026-03-01T10:30:00+08:00",
        "2026年3月1日 10:30",
        "2026/03/01",
        "2023、2024、2025年",
        "第3、4、5户",
        "二〇二六年三月",
        "第一、二、三组",
        "一二三四五六户",
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


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("一三九一二三四五六七八", "***"),
        ("电话：幺三九 一二三四 五六七八", "电话：***"),
        ("电话139、1234、5678，2026-03-01付款", "电话***，2026-03-01付款"),
        ("付 800.00 元，电话 139-1234-5678", "付 800.00 元，电话 ***"),
        ("ABCD-EFGH-JKLM 13912345678", "ABCD-EFGH-JKLM ***"),
        ("决2026-003号，13912345678", "决2026-003号，***"),
        ("13912345678，2026-03-01 10:30", "***，2026-03-01 10:30"),
    ],
)
def test_chinese_numerals_and_split_numbers_are_masked_beside_what_stays(text: str, shown: str) -> None:
    assert mask_personal(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01 1391 2345",  # a date does not hide the number after it
        "2026-03-01-12345678",
        "¥1391 2345 678",
        "1391、2345、678元",
        "QX0101-2026-J-003 4 5678 1234",
    ],
)
def test_what_stays_readable_never_carries_a_number_with_it(text: str) -> None:
    shown = mask_personal(text)
    assert MASK in shown
    assert "1391" not in shown and "5678" not in shown, shown


WEAK = ["、", "，", "：", "；", ",", ":", ";", "， ", "、\n"]
SHAPED = st.one_of(
    st.tuples(st.sampled_from("3456789"), _digits(9)).map(lambda p: "1" + p[0] + p[1]),  # mobile
    st.tuples(_digits(17), st.sampled_from("0123456789Xx")).map("".join),  # ID
    st.tuples(st.sampled_from(["010", "020", "0571", "0574"]), _digits(8)).map("".join),  # landline
    st.tuples(st.sampled_from(["62", "4", "5", "6"]), st.integers(14, 17).flatmap(_digits)).map("".join),  # card
)


@st.composite
def listed(draw: st.DrawFn) -> tuple[str, str]:
    """A number typed in groups with list punctuation between them (139、1234、5678)."""
    number = draw(SHAPED)
    pieces, start = [], 0
    while start < len(number):
        size = draw(st.integers(min_value=2, max_value=6))
        pieces.append(number[start : start + size])
        start += size
    text = pieces[0]
    for piece in pieces[1:]:
        text += draw(st.sampled_from(WEAK)) + piece
    return number, draw(CONTEXT) + text.translate(draw(st.sampled_from([{}, FULL_WIDTH]))) + draw(CONTEXT)


@settings(max_examples=150, deadline=None)
@given(listed())
def test_a_number_split_by_list_punctuation_never_survives(sample: tuple[str, str]) -> None:
    number, text = sample
    shown = mask_personal(text)
    assert digits_in(shown) == "", (number, text, shown)


KEPT = ["2026-03-01", "2026-03-01 10:30", "1234.50元", "¥80,000.00", "12.5万元", "决2026-003", "ABCD-EFGH-JKLM"]


@settings(max_examples=100, deadline=None)
@given(
    written(), st.sampled_from(KEPT), st.sampled_from(KEPT), st.sampled_from(["电话", "，号码", "。身份证 ", "卡号："])
)
def test_a_number_beside_dates_sums_and_codes_never_survives(
    sample: tuple[str, str], before: str, after: str, words: str
) -> None:
    number, text = sample
    shown = mask_personal(f"{before}{words}{text}。{after}")
    assert before in shown and after in shown, shown
    rest = shown.replace(before, "", 1).replace(after, "", 1)
    assert digits_in(rest) == "", (number, text, shown)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("张三明", "张*明"),
        ("李四", "李*"),
        ("欧阳修华", "欧阳*华"),
        ("张三明、李四", "张*明、李*"),
        ("周某张三丰13912345678", "周***丰***"),
        ("张三丰 139 1234 5678", "张*丰 ***"),
        (None, ""),
    ],
)
def test_a_name_is_masked_even_with_a_number_typed_into_it(name: object, shown: str) -> None:
    from engine.public.masking import mask_name

    assert mask_name(name) == shown


@pytest.mark.parametrize(
    ("payee", "shown"),
    [
        ("某五金店 6222 0000 1111 2222", "某五金店 ***"),
        ("青溪建筑有限公司", "青溪建筑有限公司"),
        ("上塘村股份经济合作社", "上塘村股份经济合作社"),
        ("张三丰", "张*丰"),
        ("李四 13912345678", "李* ***"),
    ],
)
def test_a_payee_that_is_a_person_is_shown_by_the_name_rule_an_organisation_in_full(payee: str, shown: str) -> None:
    assert mask_payee(payee) == shown


@pytest.mark.parametrize(
    ("payee", "shown"),
    [
        # people whose names hold a character that ends many organisations' names
        ("陈建社", "陈*社"),
        ("王德行", "王*行"),
        ("周院生", "周*生"),
        ("黄组", "黄*"),
        ("王店生", "王*生"),
        ("李建厂", "李*厂"),
        ("卫中心", "卫*心"),
        ("欧阳建店", "欧阳*店"),
        # a person named after a word that says who they are
        ("村民王芳", "村民王*"),
        ("三组组长李明", "三组组长李*"),
        ("农户张三丰", "农户张*丰"),
        ("户主：欧阳修华", "户主：欧阳*华"),
        ("村民小组长 赵六", "村民小组长 赵*"),
        # a shop or company with its owner's name after it, and several payees in one field
        ("某五金店张三丰", "某五金店张*丰"),
        ("青溪建筑有限公司、张三", "青溪建筑有限公司、张*"),
        ("上塘村施工队（王德行）", "上塘村施工队（王*行）"),
        # organisations, named in full by the ending of their names
        ("五金店", "五金店"),
        ("砖瓦厂", "砖瓦厂"),
        ("供销社", "供销社"),
        ("清溪县供销合作社", "清溪县供销合作社"),
        ("上塘村村民委员会", "上塘村村民委员会"),
        ("上塘村村委会", "上塘村村委会"),
        ("东溪镇农业综合服务中心", "东溪镇农业综合服务中心"),
        ("中国农业银行清溪支行", "中国农业银行清溪支行"),
        ("清溪县人民医院", "清溪县人民医院"),
        ("华联超市", "华联超市"),
        ("上塘水泥经营部", "上塘水泥经营部"),
        ("东溪电信营业厅", "东溪电信营业厅"),
    ],
)
def test_a_person_is_told_from_an_organisation_by_the_ending_of_the_name(payee: str, shown: str) -> None:
    assert mask_payee(payee) == shown


SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾韦夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施"  # noqa: E501
GIVEN = "建德院店组社行队部村场站所厂局院生明芳华国强军伟丽秀英中心"


@given(st.sampled_from(SURNAMES), st.text(GIVEN, min_size=1, max_size=2))
@settings(max_examples=300, deadline=None)
def test_no_two_or_three_character_name_is_shown_in_full(surname: str, given_name: str) -> None:
    name = surname + given_name
    # a whole word that names a kind of organisation (林场, a forest farm) is one, whoever could bear it
    assume(name not in ORGANISATION_SUFFIXES)
    for typed in (name, f"村民{name}", f"二组组长{name}", f"某五金店{name}"):
        assert name not in mask_payee(typed), typed


def test_every_demo_payee_is_an_organisation_shown_in_full() -> None:
    from powerlist.demo import PAYEES

    assert [mask_payee(payee) for payee in PAYEES] == PAYEES


def test_names_the_record_knows_are_masked_where_its_free_text_repeats_them() -> None:
    from engine.public.masking import mask_known_names

    text = "付张三丰、欧阳修华工钱，张三丰电话 139 1234 5678；某五金店材料费"
    shown = mask_known_names(text, ["张三丰", "欧阳修华、李四", "某五金店", None, "王"])
    assert shown == "付张*丰、欧阳*华工钱，张*丰电话 ***；某五金店材料费"
    assert mask_known_names("王家村道路", ["王"]) == "王家村道路"  # one character is no name
    assert mask_known_names(None, ["张三"]) == "" and mask_known_names("张三领", "张三", 3) == "张*领"


def test_the_names_a_matters_forms_hold_are_masked_where_its_free_text_repeats_them() -> None:
    from engine.public.masking import mask_known_names, names_in_forms

    forms = [
        {"payee": "王德行", "purpose": "付王德行和李大明工钱"},
        {"reviewers": ["周院生", "吴监委"], "handler_name": "李大明", "amount_fen": 100},
    ]
    assert sorted(names_in_forms(forms)) == sorted(["周院生", "吴监委", "李大明", "王德行"])
    things = {"project_name": "村东路灯安装工程", "asset_name": "鱼塘", "chair_name": "赵主任"}
    assert names_in_forms([things]) == ["赵主任"]
    shown = mask_known_names("付王德行和李大明工钱，周院生审核", names_in_forms(forms))
    assert shown == "付王*行和李*明工钱，周*生审核"
