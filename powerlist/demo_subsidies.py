"""Demo subsidy rosters of the demo villages, and their households' lookup codes.

Each village gets the households ``<village>-001`` … with deterministic heads' ID numbers (so the
docs can name one to look up: 上塘村 QX0101-001, last four of the head's ID ``0111``), rosters of
低保 for the last three months, 高龄津贴 for the last two and this year's 耕地地力保护补贴, imported
as the town's civil-affairs clerk would (a CSV with a bank column that is dropped). Running it again
adds nothing.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import CST
from engine.public import subsidies
from engine.public.subsidy_models import SubsidyRoster
from engine.public.villages import villages

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "明华国建平秀英玉兰桂芳志强德福春梅金海"
CLERKS = {"QX01": "dongxi.civil", "QX02": "xiling.civil"}


def resident_id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def household(village: str, n: int) -> tuple[str, str, str, int, str]:
    """The demo household ``n`` of ``village``: code, head's name, head's ID, people, group."""
    digits = village[-2:]
    first17 = f"3302{digits}{1935 + n:04d}{n % 12 + 1:02d}{n % 28 + 1:02d}{n:02d}1"
    name = SURNAMES[(n * 7 + int(digits)) % len(SURNAMES)] + GIVEN[n % len(GIVEN)] + GIVEN[(n * 3) % len(GIVEN)]
    return f"{village}-{n:03d}", name, resident_id(first17), 1 + n % 4, f"{'一二三四'[n % 4]}组"


def _months_back(now: datetime, back: int) -> str:
    local = now.astimezone(CST)
    index = local.year * 12 + local.month - 1 - back
    return f"{index // 12}-{index % 12 + 1:02d}"


def _csv(rows: list[str]) -> bytes:
    header = "户号,户主姓名,身份证号,人数,金额(元),发放日期,村/组,银行卡号"
    return ("\n".join([header, *rows]) + "\n").encode("gb18030")


def load(session: Session, now: datetime, rng: random.Random, size: str) -> None:
    """Add this area's demo data (``size``: full, small or tiny, as the matters)."""
    count = {"full": 14, "small": 6}.get(size, 3)
    year = now.astimezone(CST).year
    for village in villages(session):
        clerk = CLERKS.get(village.code[:4])
        if clerk is None:
            continue
        homes = [household(village.code, n) for n in range(1, count + 1)]
        plans: list[tuple[str, str, list[str]]] = []
        for back in (1, 2, 3):
            period = _months_back(now, back)
            poor = homes[: max(2, count // 3)]
            rows = [
                f"{code},{name},{number},{people},{people * 310 + (n % 3) * 50},{period}-05,{group},"
                f"6228480402{rng.randrange(10**9):09d}"
                for n, (code, name, number, people, group) in enumerate(poor)
            ]
            plans.append(("subsistence", period, rows))
        for back in (1, 2):
            period = _months_back(now, back)
            old = homes[count // 3 : count // 3 + max(2, count // 4)]
            plans.append(
                ("elderly_allowance", period, [f"{c},{n},{i},1,200,{period}-10,{g}," for c, n, i, _p, g in old])
            )
        farmland = [
            f"{c},{n},{i},{p},{rng.randrange(8000, 60000) / 100:.2f},{year}-04-20,{g},{6217000000000000000 + k}"
            for k, (c, n, i, p, g) in enumerate(homes)
        ]
        plans.append(("farmland_protection", str(year), farmland))
        for kind, period, rows in plans:
            exists = session.scalar(
                select(SubsidyRoster.id).where(
                    SubsidyRoster.village_id == village.id, SubsidyRoster.kind == kind, SubsidyRoster.period == period
                )
            )
            if exists is None:
                name = f"{village.name}{period}{subsidies.rules().kinds[kind].name}名册.csv"
                subsidies.import_roster(session, clerk, _csv(rows), name, village.code, kind, period, now=now)
