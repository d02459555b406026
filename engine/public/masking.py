"""Personal numbers taken out of text the public pages show.

Cadres type payees and purposes freely, so a resident ID (居民身份证号, 18 characters ending in a
digit or X, or the old 15 digits), a mobile or landline number or a bank card number may be in
them, written in one piece or in groups, with spaces, dashes, dots, brackets or line breaks between
the groups, in full-width digits (１３８), with +86 in front. :func:`mask_personal` finds every run of
digits, whatever spaces or marks separate them, and hides any run of six digits or more. Groups
split by Chinese or list punctuation (139、1234、5678, 139，1234，5678, 139:1234:5678) are hidden
when together they make a mobile, an ID, a landline or a card number, and a number written in
Chinese numerals (一三九一二三四五六七八) when it has seven numerals or more.

What must stay readable stays: a date or a time (2025-03-01, 2025.3.1, 2026年3月1日 10:30), a
sum of money (1234.50元, ¥80,000.00, 12.5万元, 80000000.00元: at most nine digits before the
point and a 元/万/¥ beside it), a number of the decision register (QX0101-2026-J-003, 决2026-003)
and a receipt code (ABCD-EFGH-JKLM, which never holds a 0 or a 1). None of them is kept when a
digit group joins it from outside, so a number cannot hide behind one.

Names and ID numbers that a page shows on purpose (a subsidy roster's recipients) are shown as the
rule file ``rules/defaults/public.yaml`` says (:func:`mask_name`, :func:`mask_id_number`). A payee
(:func:`mask_payee`) is an organisation, shown in full, when its name ends as one's does; else it is
a person's name, masked. A name in free text is found only when the record knows it
(:func:`mask_known_names`). Every public page and answer takes its personal data through this module
and no other.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from engine.ruleset import AreaRulesInvalid, area_rules

MASK = "***"
MIN_DIGITS = 6  # shorter runs (a house number, a count, a year) stay readable
MONEY_DIGITS = 9  # a sum of money keeps at most this many digits before the point (under 10 亿元)
CHINESE_NUMERALS = 7  # this many Chinese numerals in a row are a number (a landline has seven digits)

# Characters people put between the digit groups of one number.
_SEPARATORS = frozenset(
    "-‐‑‒–—―−－﹣﹘"  # hyphens and dashes, ASCII and full-width
    "·・•"  # middle dots
    "/／\\＼_＿"  # slashes, underscores
    ")）]］"  # closing brackets round an area code
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters
)
# Punctuation between the items of a list, and between the groups of a number typed in a hurry:
# groups across it count as one number only when together they have a personal number's shape.
_WEAK = frozenset("，、：；,:;﹐﹑﹕﹔")
_X = frozenset("xXｘＸ")
_PLUS = frozenset("+＋")
_OPENING = frozenset("(（[［")
_DOTS = frozenset(".．")
_NUMBER = re.compile(r"\d(?:[~.(]*+\d)*+(?:[~.(]*+X)?")  # possessive: linear however long the text
_DATE = re.compile(r"(?:19|20)\d\d(?P<sep>[~.]+)\d\d?(?P=sep)\d\d?")
_MONEY = re.compile(r"(?P<whole>\d+)\.\d{1,2}")
_LONE_X = re.compile(r"[~,]{0,3},[~,]{0,3}X")
_WEAK_GAP = re.compile(r"[~,]{0,3},[~,]{0,3}")  # between two groups: list punctuation, maybe spaces
# The shapes a number split by list punctuation must have to be hidden (its digits run together).
_PERSONAL_SHAPES = re.compile(
    r"(?:0?86)?1[3-9]\d{9}"  # mobile
    r"|\d{17}[\dX]|\d{15}"  # resident ID
    r"|0\d{9,11}"  # landline with its area code
    r"|[3-6]\d{15,18}"  # bank card
)

# What stays readable, found in the text as typed (any digits): dates and times, register numbers and
# receipt codes, and sums of money.
_D = r"[0-9０-９]"
_TIME = rf"{_D}{{1,2}}[:：]{_D}{{2}}(?:[:：]{_D}{{2}})?"
_KEPT = re.compile(
    "|".join(
        (
            # a date, maybe with its time: 2025-03-01, 2025.3.1, 2025/03/01, 2026年3月1日, 2026-03-01T10:30:00
            rf"(?:19|20){_D}{{2}}(?P<ds>[-/.．／－])[01]?{_D}(?P=ds)[0-3]?{_D}(?:[ T]{_TIME})?",
            rf"(?:19|20){_D}{{2}}年[01]?{_D}月(?:[0-3]?{_D}日)?(?:\s*{_TIME})?",
            # a number of the decision register: QX0101-2026-J-003, and 决2026-003 as written on paper
            rf"[A-Z]{{1,4}}{_D}{{0,8}}-(?:19|20){_D}{{2}}-[A-Z]{{1,3}}-{_D}{{1,4}}",
            rf"(?<=[决字号第])(?:19|20){_D}{{2}}[-－]{_D}{{1,4}}",
            # a receipt code: three groups of four of its alphabet (no 0, O, 1 or I), with a letter
            r"(?<![0-9A-Za-z])(?=[2-9]{0,11}[A-Za-z])[2-9A-HJ-NP-Za-hj-np-z]{4}[- ]?[2-9A-HJ-NP-Za-hj-np-z]{4}"
            r"[- ]?[2-9A-HJ-NP-Za-hj-np-z]{4}(?![0-9A-Za-z])",
        )
    )
)
# A sum of money: ¥80,000.00, 1234.50元, 12.5万元, 80000000.00 元. A group of digits before it even
# across list punctuation (139、1234、5678元) makes it part of a number instead.
_KEPT_MONEY = re.compile(
    "|".join(
        (
            rf"[¥￥]\s*{_D}{{1,3}}(?:[,，]{_D}{{3}})+(?:[.．]{_D}{{1,2}})?",
            rf"[¥￥]\s*{_D}{{1,{MONEY_DIGITS}}}(?:[.．]{_D}{{1,2}})?",
            rf"{_D}{{1,3}}(?:[,，]{_D}{{3}})+(?:[.．]{_D}{{1,2}})?(?=\s*(?:元|万|亿|块))",
            rf"{_D}{{1,{MONEY_DIGITS}}}(?:[.．]{_D}{{1,4}})?(?=\s*(?:元|万|亿|块))",
        )
    )
)
_CHINESE = "〇零一二三四五六七八九幺"
_CHINESE_NUMBER = re.compile(rf"[{_CHINESE}](?:[\s\-－—·.，、]?[{_CHINESE}]){{{CHINESE_NUMERALS - 1},}}")


def _flat(char: str) -> str:
    """One character for one: ASCII digits, ``X``, ``+``, ``.``, ``(``, ``~`` for separators, ``,`` for list
    punctuation, else ``#``."""
    if char.isdecimal():
        return str(unicodedata.decimal(char))
    if char in _X:
        return "X"
    if char in _PLUS:
        return "+"
    if char in _DOTS:
        return "."
    if char in _OPENING:
        return "("
    if char in _SEPARATORS or char.isspace():
        return "~"
    if char in _WEAK:
        return ","
    return "#"


def _is_date(run: str) -> bool:
    if _DATE.fullmatch(run) is None:
        return False
    year, month, day = (int(part) for part in re.split("[~.]+", run))
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _is_personal(run: str) -> bool:
    money = _MONEY.fullmatch(run)
    counted = money.group("whole") if money else run
    digits = sum(1 for c in counted if c.isdigit() or c == "X")
    return digits >= MIN_DIGITS and not _is_date(run)


def _joined(flat: str, start: int, step: int, between: str) -> bool:
    """Whether a digit group touches ``flat`` at ``start`` going ``step`` (-1 back, 1 on), across the
    characters ``between``: a kept date or sum must not be the end of a longer number."""
    index = start
    while 0 <= index < len(flat) and flat[index] in between:
        index += step
    return 0 <= index < len(flat) and (flat[index].isdigit() or flat[index] == "X")


def _kept_spans(text: str, flat: str) -> list[tuple[int, int]]:
    """Dates, times, sums, register numbers and receipt codes that stay as typed."""
    spans = []
    for pattern, between in ((_KEPT, "~(+."), (_KEPT_MONEY, "~(+.,")):
        for found in pattern.finditer(text):
            start, end = found.span()
            if not _joined(flat, start - 1, -1, between) and not _joined(flat, end, 1, between):
                spans.append((start, end))
    return spans


def mask_personal(text: Any, limit: int | None = None) -> str:
    """``text`` with every ID, phone, landline or card number (any spacing, any digits) as ***.

    Anything but a string becomes ``""``; ``limit`` cuts the result to that many characters,
    after masking, so a number is never cut in two and half of it shown.
    """
    if not isinstance(text, str):
        return ""
    flat = "".join(map(_flat, text))
    kept = _kept_spans(text, flat)
    if kept:
        cut = list(flat)
        for start, end in kept:
            cut[start:end] = "#" * (end - start)
        flat = "".join(cut)
    runs = [found.span() for found in _NUMBER.finditer(flat)]
    hidden = [(start, end) for start, end in runs if _is_personal(flat[start:end])]
    hidden += _split_numbers(flat, runs)
    hidden += [found.span() for found in _CHINESE_NUMBER.finditer(text)]
    pieces = []
    end = 0
    for start, stop in _merged(hidden):
        while start > end and flat[start - 1] in "(+":  # +86, (0571)
            start -= 1
        pieces.append(text[end:start])
        pieces.append(MASK)
        end = stop
    pieces.append(text[end:])
    shown = "".join(pieces).strip()
    return shown if limit is None else shown[:limit]


def _split_numbers(flat: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where runs of digits joined across list punctuation make a personal number's digits."""
    texts = [flat[start:end] for start, end in runs]
    digits = [None if _MONEY.fullmatch(text) else "".join(c for c in text if c.isdigit() or c == "X") for text in texts]
    linked = [
        index > 0 and _WEAK_GAP.fullmatch(flat, runs[index - 1][1], runs[index][0]) is not None
        for index in range(len(runs))
    ]
    found = []
    for first in range(len(runs)):
        if digits[first] is None or first + 1 >= len(runs) or not linked[first + 1]:
            continue
        joined = digits[first]
        for last in range(first + 1, len(runs)):
            if not linked[last] or digits[last] is None:
                break
            joined += digits[last]
            if len(joined) > 21:
                break
            if _PERSONAL_SHAPES.fullmatch(joined) or _PERSONAL_SHAPES.fullmatch(joined.rstrip("X")):
                found.append((runs[first][0], runs[last][1]))
            check = _LONE_X.match(flat, runs[last][1])  # an ID's X typed as a group of its own
            if check and _PERSONAL_SHAPES.fullmatch(joined + "X"):
                found.append((runs[first][0], check.end()))
    return found


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans in order, overlapping ones made one."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


NAME_STYLES = ("full", "given", "surname")
ID_KEEP_MAX = 6  # the region code; a birth date or the check digits are never shown
_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 端木 独孤 南宫 西门 澹台 呼延".split()
)


@lru_cache(maxsize=1)
def masking_rules() -> dict[str, Any]:
    """The ``public.masking`` rules, checked: ``names`` (a style) and ``id_numbers.keep_start``."""
    rules = area_rules("public.yaml", "public", "the public pages' rule file").get("masking") or {}
    names = rules.get("names", "given")
    if names not in NAME_STYLES:
        raise AreaRulesInvalid([f"public.yaml: masking.names is one of {', '.join(NAME_STYLES)}, not {names!r}"])
    keep = (rules.get("id_numbers") or {}).get("keep_start", 0)
    if not isinstance(keep, int) or isinstance(keep, bool) or not 0 <= keep <= ID_KEEP_MAX:
        raise AreaRulesInvalid([f"public.yaml: masking.id_numbers.keep_start is a whole number 0 to {ID_KEEP_MAX}"])
    return {"names": names, "keep_start": keep}


_NAME_BREAKS = re.compile(r"(\*\*\*|[、，,;；/／\s]+)")


def mask_name(name: Any) -> str:
    """A person's name as the rules show it: 张*明, 李*, 欧阳*华 (``given``), 张** (``surname``) or in full.

    Several names in one field (张三明、李四) are each shown so; digits typed into a name are masked as
    in free text, the name beside them still masked; a name of Latin letters keeps its first letter."""
    text = mask_personal(name, 40)
    style = masking_rules()["names"]
    if style == "full" or not text:
        return text
    return "".join(
        part if not part or _NAME_BREAKS.fullmatch(part) else _one_name(part, style)
        for part in _NAME_BREAKS.split(text)
    )


def _one_name(text: str, style: str) -> str:
    surname = text[:2] if text[:2] in _COMPOUND_SURNAMES else text[:1]
    rest = text[len(surname) :]
    if not rest:
        return text
    if style == "surname" or len(rest) == 1:
        return surname + "*" * len(rest)
    return surname + "*" * (len(rest) - 1) + rest[-1]


def mask_id_number(number: Any) -> str:
    """A resident ID number as the rules show it: its first ``keep_start`` characters, the rest as *."""
    if not isinstance(number, str):
        return ""
    flat = "".join(_flat(ch) for ch in number if not ch.isspace() and _flat(ch) != "~")
    if not flat:
        return ""
    keep = masking_rules()["keep_start"]
    shown = flat[:keep] if flat[:keep].isdigit() else ""
    return shown + "*" * (max(len(flat), 15) - len(shown))


# --- payees: an organisation in full, a person masked ------------------------------------------------

# How the name of an organisation ends (a company, a shop, a co-operative, an office, a team). A payee
# is an organisation when its name ends so; a word inside a name (陈建社, 王德行, 周院生) says nothing.
ORGANISATION_SUFFIXES = tuple(
    """
    公司 有限公司 有限责任公司 股份有限公司 集团 分公司 事务所 律师事务所 会计师事务所 设计院 研究院 研究所
    商店 小卖部 五金店 店 超市 商行 行 电器行 车行 五金 建材 农资 家电 商场 场 部 社 院 队 园 馆 厅 坊
    市场 批发部 经营部 门市部 门市 营业厅 营业部 加油站 药店 药房 诊所
    厂 工厂 加工厂 砖瓦厂 作坊 农场 林场 养殖场 牧场 渔场 苗圃 基地 园区
    合作社 经济合作社 股份经济合作社 专业合作社 供销社 供销合作社 信用社 农村信用社 联社 旅行社 报社 出版社
    委员会 村委会 居委会 村民委员会 监督委员会 村监会 党支部 党总支 党委 支部 工会 妇联 团委 共青团
    施工队 工程队 建筑队 运输队 车队 装修队 维修队 服务队 志愿队 作业队
    中心 服务中心 站 服务站 卫生站 农技站 水利站 所 卫生所 派出所 财政所 司法所 供电所 管理所 医院 卫生院
    学校 小学 中学 幼儿园 学院 大学 银行 支行 分行 协会 学会 商会 基金会 工作室 办公室 办事处
    政府 人民政府 街道 局 管理局 财政局 公安局 民政局 农业农村局 水利局 镇 乡 村 社区 小组 村民小组
    保险 电信 移动 联通 电力 自来水 燃气 物业 酒店 饭店 餐厅 宾馆 招待所
    """.split()
)
# A word before a person's name that says who they are (村民王芳, 三组组长李明, 户主：张三).
PERSON_TITLES = tuple(
    """
    村民 农户 户主 组长 小组长 村民小组长 村民代表 代表 社员 党员 个人 本人 收款人 领款人 代领人 经办人 承包人
    承包户 租户 家属 老人 工人 务工人员 低保户 五保户 特困户 困难户 脱贫户 残疾人 保洁员 护林员 网格员
    """.split()
)
# Common surnames: a short name beginning with one is a person's even when it ends like a shop's (李建厂).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘"
    "杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文庞樊兰殷"
    "施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂丛焦向柳邢路岳齐梅莫庄辛管祝左涂谷祁时舒耿牟卜詹关苗凌费纪靳"
    "盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵解强柴华车冉房边辜吉饶刁瞿戚丘古米池滕"
    "晋苑邬臧畅宫来苟全褚廉简娄盖符奚木穆党燕郎邸冀谈姬屠连郜晏栾郁商蒙计喻揭窦迟宇敖糜鄢冷卓花仇艾蓝都巩井练"
    "仲乐虞卞封竺冼原官衣楚佟栗匡宗应台巫鞠桑荆谌银扬明沙伏岑习胥保和蔺付闫肖"
)
_SUFFIXES = tuple(sorted(set(ORGANISATION_SUFFIXES), key=len, reverse=True))
_HAN = "\u3400-\u9fff"
_PAYEE_BREAKS = re.compile(r"(\*+|[、，,;；/／\s()（）\[\]【】<>《》]+)")
_TITLE = rf"(?:[一二三四五六七八九十0-9０-９]+组)?(?:{'|'.join(sorted(PERSON_TITLES, key=len, reverse=True))})[:：]?"
_TITLED = re.compile(rf"(?P<title>{_TITLE})(?P<name>[{_HAN}]{{2,4}})")
_TITLE_ONLY = re.compile(_TITLE)


def _person_like(text: str) -> bool:
    """Whether ``text`` has a person's name's shape: two or three Han characters after a common surname
    (four after a compound one), and is no organisation's word (商店, 施工队)."""
    if not re.fullmatch(rf"[{_HAN}]{{2,4}}", text) or text in _SUFFIXES:
        return False
    if text[:2] in _COMPOUND_SURNAMES:
        return len(text) >= 3
    return text[0] in SURNAMES and len(text) <= 3


def is_organisation(text: str) -> bool:
    """Whether a payee's name ends as an organisation's does (上塘村股份经济合作社, 某五金店, 砖瓦厂).

    A short name that begins with a surname is a person's (李建厂, 欧阳建店), as is a name after a
    person's title (村民王店生), unless the whole name is an organisation's word (商店, 卫生院)."""
    if text in _SUFFIXES:
        return True
    suffix = next((s for s in _SUFFIXES if text.endswith(s)), None)
    if suffix is None or _person_like(text):
        return False
    return len(suffix) > 1 or _TITLED.match(text) is None


def _shown_name(name: str, style: str) -> str:
    return name if style == "full" else _one_name(name, style)


def _payee_part(text: str, style: str) -> str:
    if _TITLE_ONLY.fullmatch(text):  # 村民小组长 before a name set apart by a space
        return text
    titled = _TITLED.fullmatch(text)
    if titled and (_person_like(titled["name"]) or not is_organisation(text)):
        return titled["title"] + _shown_name(titled["name"], style)
    for end in range(len(text) - 2, 1, -1):  # a shop and its owner: 某五金店张三丰
        if _person_like(text[end:]) and is_organisation(text[:end]):
            return text[:end] + _shown_name(text[end:], style)
    if is_organisation(text):
        return text
    return _shown_name(text, style)


def mask_payee(text: Any, limit: int | None = None) -> str:
    """Whoever was paid: an organisation's name in full, a person's as :func:`mask_name` shows it; any
    number masked either way. 财务公开 says who was paid; it need not name a private person in full.

    An organisation is known by how its name ends (:data:`ORGANISATION_SUFFIXES`); a name after a
    person's title (村民王芳, 三组组长李明) or after a shop's name (某五金店张三丰) is a person's; anything
    else is masked as a name, each payee of a list (、，/ or brackets between them) on its own."""
    shown = mask_personal(text, limit)
    if not shown:
        return shown
    style = masking_rules()["names"]
    return "".join(
        part if not part or _PAYEE_BREAKS.fullmatch(part) else _payee_part(part, style)
        for part in _PAYEE_BREAKS.split(shown)
    )


def mask_known_names(text: Any, names: Any, limit: int | None = None) -> str:
    """Free text as :func:`mask_personal` shows it, with every name the same record knows (its applicant,
    payee, recipients: ``names``, each a name or a list of them, 张三、李四 too) shown as :func:`mask_name`
    shows it wherever the text repeats it (付张三丰工钱 → 付张*丰工钱). Names the record does not know
    cannot be found in free text; a single character is never taken for a name."""
    shown = mask_personal(text)
    style = masking_rules()["names"]
    known = set()
    for value in names if isinstance(names, (list, tuple, set, frozenset)) else [names]:
        if isinstance(value, str):
            known.update(part for part in _PAYEE_BREAKS.split(mask_personal(value)) if len(part.strip("*")) >= 2)
    known = {name for name in known if not _PAYEE_BREAKS.fullmatch(name) and not is_organisation(name)}
    if shown and known and style != "full":
        pattern = re.compile("|".join(re.escape(name) for name in sorted(known, key=len, reverse=True)))
        shown = pattern.sub(lambda found: _one_name(found.group(), style), shown)
    return shown if limit is None else shown[:limit]


# Form fields that hold a person's name besides those named *name* (申请人, 收款方, 竞得人…).
NAME_FIELDS = frozenset({"payee", "counterparty", "winner", "applicant", "reviewers", "handlers"})


def names_in_forms(forms: Any) -> list[str]:
    """Every person's name a matter's forms hold (2 to 4 Han characters in fields named ``*name`` or in
    :data:`NAME_FIELDS`, lists too): what :func:`mask_known_names` masks in the same matter's free text."""
    names: list[str] = []
    for form in forms:
        for key, value in (form or {}).items():
            if (key.endswith("name") and not key.startswith(_THING_NAMES)) or key in NAME_FIELDS:
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str):
                        names.extend(part for part in _PAYEE_BREAKS.split(text) if _PERSON_LIKE.fullmatch(part))
    return names


_THING_NAMES = ("project", "asset", "item", "matter", "file", "place", "meeting", "village", "unit")
_PERSON_LIKE = re.compile(r"[\u4e00-\u9fff]{2,4}")  # a project's or an asset's name is longer, or not Han
