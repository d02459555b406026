"""The supervisors' overview: a village × item risk map, grades per quarter and year with their trend,
and the monthly red and black lists (晾晒台 红黑榜), read-only and kept to the reader's scope.

Scope is the auditing scope (:func:`engine.policy.audit.audit_scope`): a village supervisory committee
member sees their village (the map has one row), a town discipline commission its town's villages,
the county discipline commission and the auditors the county.

Periods are China time: a month ``2026-10``, a quarter ``2026Q4`` or a year ``2026``.

* The risk map counts every violation that is not dismissed by the village of its matter and the
  item (flow) it arose in, by colour, with its points; a violation outside any matter (a card payment
  no matter explains) is counted under no item (``key`` None).
* Grades are those of :func:`engine.supervision.scores.scores` (violations count against the unit that
  held the step); a year's score follows ``lists.annual`` in the rule set.
* The lists follow ``lists`` in the rule set: the red list (红榜) holds the villages that meet every
  condition of ``lists.red``, the black list (黑榜) those that meet any of ``lists.black``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CST
from engine.clock import as_utc
from engine.definitions import scope as publication
from engine.errors import PowerlistError
from engine.org.units import unit_chain
from engine.persistence.enums import Level
from engine.persistence.models import DefinitionVersion, Matter, OrgUnit
from engine.policy.audit import AuditScope, audit_scope, require_unit
from engine.supervision import scores as scoring
from engine.supervision.models import Severity, Violation, ViolationOutcome
from engine.supervision.rules import RuleBook, rules_for

COLOURS = tuple(Severity)  # worst first
KINDS = ("month", "quarter", "year")
MAX_TREND = 12
DISMISSED = ViolationOutcome.DISMISSED
DEFAULT_LISTS: dict[str, Any] = {
    "score": "quarter_to_date",
    "red": {"grades": ["A"], "max_red": 0},
    "black": {"grades": ["D"], "overdue_red": 1},
    "annual": "mean_of_quarters",
}


class OverviewInputInvalid(PowerlistError):
    """A period or a count the overview cannot read; ``field`` names the input."""

    exit_code = 2
    default_code = "overview.period"


# --- periods -----------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_EXAMPLES = {"month": "2026-10", "quarter": "2026Q4", "year": "2026"}


@dataclass(frozen=True, order=True)
class Period:
    """A month, quarter or year in China time; ``number`` is the month or quarter (0 for a year)."""

    year: int
    kind: str
    number: int

    @classmethod
    def parse(cls, text: Any, kinds: Iterable[str] = KINDS, field: str = "period") -> Period:
        kinds = tuple(kinds)
        value = text.strip() if isinstance(text, str) else ""
        found: Period | None = None
        if match := _MONTH.match(value):
            found = cls(int(match[1]), "month", int(match[2]))
        elif match := _QUARTER.match(value.upper()):
            found = cls(int(match[1]), "quarter", int(match[2]))
        elif match := _YEAR.match(value):
            found = cls(int(match[1]), "year", 0)
        shown = str(text)[:40] if text is not None else ""
        if found is None or not 2000 <= found.year <= 2999:
            raise OverviewInputInvalid(
                f"{field}: a period is a month (2026-10), a quarter (2026Q4) or a year (2026)",
                code="overview.period",
                params={"field": field, "value": shown},
                field=field,
            )
        if found.kind not in kinds:
            raise OverviewInputInvalid(
                f"{field}: a {found.kind} was given; here a period is written "
                + " or ".join(_EXAMPLES[k] for k in kinds),
                code="overview.period_kind",
                params={"field": field, "value": shown, "examples": " / ".join(_EXAMPLES[k] for k in kinds)},
                field=field,
            )
        return found

    @classmethod
    def current(cls, kind: str, now: datetime | None = None) -> Period:
        local = as_utc(now or clock.now()).astimezone(CST)
        if kind == "month":
            return cls(local.year, "month", local.month)
        if kind == "quarter":
            return cls(local.year, "quarter", (local.month - 1) // 3 + 1)
        return cls(local.year, "year", 0)

    def __str__(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        return str(self.year)

    @property
    def _months(self) -> tuple[int, int]:
        """First month and the month after the last, counted from year 0 (month index = year*12 + m-1)."""
        base = self.year * 12
        if self.kind == "month":
            return base + self.number - 1, base + self.number
        if self.kind == "quarter":
            return base + 3 * (self.number - 1), base + 3 * self.number
        return base, base + 12

    @property
    def start(self) -> datetime:
        first, _ = self._months
        return datetime(first // 12, first % 12 + 1, 1, tzinfo=CST)

    @property
    def end(self) -> datetime:
        """The first moment after the period (China time)."""
        _, after = self._months
        return datetime(after // 12, after % 12 + 1, 1, tzinfo=CST)

    @property
    def quarters(self) -> tuple[str, ...]:
        """The quarters (as violations record them: ``2026Q4``) that the period lies in."""
        first, after = self._months
        found: list[str] = []
        for month in range(first, after):
            label = f"{month // 12}Q{(month % 12) // 3 + 1}"
            if label not in found:
                found.append(label)
        return tuple(found)

    @property
    def quarter(self) -> Period:
        """The quarter holding the start of the period."""
        return Period(self.year, "quarter", 1 if self.kind == "year" else (self._months[0] % 12) // 3 + 1)

    def quarters_in(self) -> tuple[Period, ...]:
        """The quarters the period lies in, as periods."""
        return tuple(Period(int(q[:4]), "quarter", int(q[5])) for q in self.quarters)

    def contains(self, at: datetime) -> bool:
        return self.start <= as_utc(at) < self.end

    def shift(self, steps: int) -> Period:
        """The period ``steps`` periods of the same kind later (earlier when negative)."""
        if self.kind == "year":
            return Period(self.year + steps, "year", 0)
        size = 12 if self.kind == "month" else 4
        index = self.year * size + self.number - 1 + steps
        return Period(index // size, self.kind, index % size + 1)

    def last(self, count: int) -> tuple[Period, ...]:
        """The ``count`` periods ending with this one, oldest first."""
        return tuple(self.shift(-back) for back in range(count - 1, -1, -1))


def check_trend(value: Any, field: str = "trend") -> int:
    """How many periods a trend covers: 1 to ``MAX_TREND``."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 4:
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_TREND:
        raise OverviewInputInvalid(
            f"{field}: the number of periods of a trend is 1 to {MAX_TREND}",
            code="overview.trend",
            params={"field": field, "max": MAX_TREND},
            field=field,
        )
    return number


# --- what every view shares ----------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    town_code: str
    town_name: str


@dataclass(frozen=True)
class Tally:
    """Violations by colour and their points."""

    red: int = 0
    yellow: int = 0
    blue: int = 0
    points: int = 0

    @property
    def count(self) -> int:
        return self.red + self.yellow + self.blue

    @property
    def worst(self) -> str | None:
        """The worst colour counted, or None when nothing is."""
        return next((c for c in COLOURS if getattr(self, c)), None)

    def of(self, colour: str) -> int:
        return getattr(self, colour)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.red + other.red, self.yellow + other.yellow, self.blue + other.blue, self.points + other.points
        )


def _tally(found: Iterable[tuple[str, int]]) -> Tally:
    counts = {colour: 0 for colour in COLOURS}
    points = 0
    for severity, value in found:
        if severity in counts:
            counts[severity] += 1
        points += value
    return Tally(counts["red"], counts["yellow"], counts["blue"], points)


def reader_scope(session: Session, username: str) -> AuditScope:
    """The reader's scope; ``PermissionDenied`` for anyone without a supervising or auditing role."""
    return audit_scope(session, username)


def _place(session: Session, scope: AuditScope, unit_code: str | None) -> tuple[Unit, list[Village], list[int]]:
    """The unit asked for (default: the widest of the scope), its villages in the scope, by code."""
    unit = require_unit(session, scope, unit_code)
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.parent_id).where(
            OrgUnit.level == Level.VILLAGE, OrgUnit.id.in_(sorted(scope.village_ids) or [-1])
        )
    ).all()
    villages, ids = [], []
    for row in sorted(rows, key=lambda r: r.code):
        chain = unit_chain(session, row.id)
        if unit.id not in {u.id for u in chain}:
            continue
        town = next((u for u in chain if u.level == Level.TOWN), chain[0])
        villages.append(Village(row.code, row.name, town.code, town.name))
        ids.append(row.id)
    return Unit(unit.code, unit.name, unit.level), villages, ids


def _book(session: Session, village_id: int) -> RuleBook:
    return rules_for(session, unit_chain(session, village_id)[-1].code)


def list_rules(book: RuleBook) -> dict[str, Any]:
    """The ``lists`` block of a rule set, with the defaults for what it leaves out."""
    given = book.rules.get("lists") or {}
    merged = {**DEFAULT_LISTS, **given}
    for key in ("red", "black"):
        merged[key] = {**DEFAULT_LISTS[key], **(given.get(key) or {})}
    return merged


def grade_order(book: RuleBook) -> tuple[str, ...]:
    return tuple(row["grade"] for row in book.rules["scoring"]["grades"])


# --- the risk map ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A column of the map: a power item (flow), or ``key`` None for violations outside any matter."""

    key: str | None
    name: str
    category: str | None
    number: str | None


@dataclass(frozen=True)
class Cell:
    village: str
    item: str | None
    tally: Tally
    rank: int | None = None  # 1 for the worst cell of the map; None when it is not among the worst


@dataclass(frozen=True)
class RiskRow:
    village: Village
    cells: tuple[Cell, ...]  # one per item, in the map's item order
    total: Tally


@dataclass(frozen=True)
class RiskMap:
    unit: Unit
    period: Period
    items: tuple[Item, ...]
    rows: tuple[RiskRow, ...]
    item_totals: tuple[Tally, ...]  # one per item
    total: Tally
    worst: tuple[Cell, ...]  # the worst cells, worst first

    def cell(self, village: str, item: str | None) -> Cell:
        row = next(r for r in self.rows if r.village.code == village)
        return next(c for c in row.cells if c.item == item)


WORST_CELLS = 5


def _severity_key(tally: Tally) -> tuple[int, ...]:
    return (tally.points, tally.red, tally.yellow, tally.blue)


def risk_map(
    session: Session,
    username: str,
    period: Period,
    unit_code: str | None = None,
    only_warned: bool = False,
) -> RiskMap:
    """Villages × items of ``unit_code`` (default: the reader's widest unit) for ``period``.

    Columns are the items published to the villages' counties (by category and number), and any
    other flow a counted violation arose in; ``only_warned`` keeps the columns with a violation.
    """
    scope = reader_scope(session, username)
    unit, villages, village_ids = _place(session, scope, unit_code)
    found: dict[tuple[int, str | None], list[tuple[str, int]]] = defaultdict(list)
    if village_ids:
        rows = session.execute(
            select(
                Violation.village_id, Violation.severity, Violation.points, Violation.detected_at, DefinitionVersion.key
            )
            .outerjoin(Matter, Matter.id == Violation.instance_id)
            .outerjoin(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
            .where(
                Violation.village_id.in_(village_ids),
                Violation.period.in_(period.quarters),
                (Violation.outcome.is_(None)) | (Violation.outcome != DISMISSED),
            )
        ).all()
        for row in rows:
            if period.contains(row.detected_at):
                found[(row.village_id, row.key)].append((row.severity, row.points))
    items = _items(session, village_ids, {key for _vid, key in found}, only_warned)
    code_of = dict(zip(village_ids, (v.code for v in villages), strict=True))
    tallies = {(code_of[vid], key): _tally(values) for (vid, key), values in found.items()}
    ranked = sorted((kv for kv in tallies.items() if kv[1].count), key=lambda kv: _severity_key(kv[1]), reverse=True)
    ranks = {where: index + 1 for index, (where, _t) in enumerate(ranked[:WORST_CELLS])}
    result_rows = []
    for village in villages:
        cells = tuple(
            Cell(
                village.code,
                item.key,
                tallies.get((village.code, item.key), Tally()),
                ranks.get((village.code, item.key)),
            )
            for item in items
        )
        result_rows.append(RiskRow(village, cells, sum((c.tally for c in cells), Tally())))
    item_totals = tuple(sum((row.cells[i].tally for row in result_rows), Tally()) for i in range(len(items)))
    worst = tuple(
        next(c for r in result_rows if r.village.code == village for c in r.cells if c.item == key)
        for (village, key), _t in ranked[:WORST_CELLS]
    )
    return RiskMap(
        unit, period, items, tuple(result_rows), item_totals, sum((r.total for r in result_rows), Tally()), worst
    )


def _items(session: Session, village_ids: list[int], warned: set[str | None], only_warned: bool) -> tuple[Item, ...]:
    counties = {unit_chain(session, vid)[-1].id for vid in village_ids}
    keys = set(warned) if only_warned else publication.keys_in(session, counties) | warned
    latest: dict[str, Item] = {}
    named = [k for k in keys if k is not None]
    if named:
        for row in session.execute(
            select(DefinitionVersion.key, DefinitionVersion.name, DefinitionVersion.meta, DefinitionVersion.retired)
            .where(DefinitionVersion.key.in_(named))
            .order_by(DefinitionVersion.version)
        ):
            if row.retired and row.key in latest:
                continue
            meta = row.meta or {}
            latest[row.key] = Item(row.key, row.name, meta.get("category"), meta.get("number"))
    items = sorted(latest.values(), key=lambda i: (i.category is None, i.number is None, i.number or "", i.key or ""))
    if None in keys:
        items.append(Item(None, "", None, None))
    return tuple(items)


# --- grades ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    period: Period
    score: int
    grade: str
    deducted: int


@dataclass(frozen=True)
class VillageGrade:
    village: Village
    score: int
    grade: str
    notice: str | None  # warning | rectification, as the grades of the rule set say
    deducted: int
    tally: Tally
    trend: tuple[Score, ...]  # the last periods, oldest first, ending with this one


@dataclass(frozen=True)
class Grades:
    unit: Unit
    period: Period
    grade_order: tuple[str, ...]
    villages: tuple[VillageGrade, ...]
    counts: tuple[tuple[str, int], ...]  # (grade, villages), in grade order
    annual: str  # how a year's score is made (lists.annual)

    def of(self, village: str) -> VillageGrade:
        return next(v for v in self.villages if v.village.code == village)


@dataclass(frozen=True)
class _Row:
    score: int
    grade: str
    notice: str | None
    deducted: int
    tally: Tally


def grades(session: Session, username: str, period: Period, unit_code: str | None = None, trend: int = 4) -> Grades:
    """Scores and grades of the villages for a quarter or a year, with their last ``trend`` periods."""
    if period.kind not in ("quarter", "year"):
        Period.parse(str(period), ("quarter", "year"))
    trend = check_trend(trend)
    scope = reader_scope(session, username)
    unit, villages, village_ids = _place(session, scope, unit_code)
    books = {v.code: _book(session, vid) for v, vid in zip(villages, village_ids, strict=True)}
    default = rules_for(session, None)
    annual = list_rules(default)["annual"]
    history = {p: _period_rows(session, p, unit.code, books) for p in period.last(trend)}
    rows = []
    for village in villages:
        now_row = history[period].get(village.code)
        if now_row is None:
            continue
        trend_points = tuple(
            Score(p, found.score, found.grade, found.deducted)
            for p, table in history.items()
            if (found := table.get(village.code)) is not None
        )
        rows.append(
            VillageGrade(
                village, now_row.score, now_row.grade, now_row.notice, now_row.deducted, now_row.tally, trend_points
            )
        )
    order = grade_order(default)
    counts = tuple((grade, sum(1 for r in rows if r.grade == grade)) for grade in order)
    return Grades(unit, period, order, tuple(rows), counts, annual)


def _period_rows(session: Session, period: Period, unit_code: str, books: dict[str, RuleBook]) -> dict[str, _Row]:
    if period.kind == "quarter":
        return {
            r["village"]: _Row(
                r["score"],
                r["grade"],
                r["notice"],
                r["deducted"],
                Tally(r["red"], r["yellow"], r["blue"], r["deducted"]),
            )
            for r in scoring.scores(session, str(period), unit_code)["villages"]
            if r["village"] in books
        }
    elapsed = [q for q in period.quarters_in() if q.start <= as_utc(clock.now())]
    quarters = elapsed or list(period.quarters_in())  # a year to come: as its quarters stand
    tables = [_period_rows(session, q, unit_code, books) for q in quarters]
    result = {}
    for code, book in books.items():
        found = [t[code] for t in tables if code in t]
        if not found:
            continue
        deducted = sum(r.deducted for r in found)
        mode = list_rules(book)["annual"]
        score = (
            book.base_score - deducted if mode == "year_deductions" else round(sum(r.score for r in found) / len(found))
        )
        grade, notice = book.grade(score)
        result[code] = _Row(score, grade, notice, deducted, sum((r.tally for r in found), Tally()))
    return result


# --- the monthly lists (晾晒台) ----------------------------------------------------------------


@dataclass(frozen=True)
class ListEntry:
    village: Village
    score: int
    grade: str
    deducted: int
    tally: Tally  # the violations of the month, by colour
    overdue_red: int  # red warnings still open past their rectification deadline at ``as_of``
    reasons: tuple[str, ...]  # why it is listed: "grade", "overdue_red" (black); "grade", "no_red" (red)


@dataclass(frozen=True)
class Lists:
    unit: Unit
    period: Period
    as_of: datetime  # the month's end, or now while the month runs (UTC)
    score_over: str  # quarter_to_date | month
    rule: dict[str, Any]  # the ``lists`` block the lists follow
    red: tuple[ListEntry, ...]  # best first
    black: tuple[ListEntry, ...]  # worst first
    others: tuple[ListEntry, ...]  # on neither list, by code


def lists(session: Session, username: str, period: Period, unit_code: str | None = None) -> Lists:
    """The red and black lists of a month for the villages of ``unit_code`` (default: the reader's scope).

    A village's score is the base less the points charged to it (as :mod:`engine.supervision.scores`
    charges them) over the quarter up to the month's end, or over the month alone (``lists.score``).
    """
    if period.kind != "month":
        Period.parse(str(period), ("month",))
    scope = reader_scope(session, username)
    unit, villages, village_ids = _place(session, scope, unit_code)
    rule = list_rules(rules_for(session, unit_chain(session, village_ids[0])[-1].code if village_ids else None))
    now = as_utc(clock.now())
    as_of = min(as_utc(period.end), now)
    since = period.quarter.start if rule["score"] == "quarter_to_date" else period.start
    charged: dict[int, list[Violation]] = defaultdict(list)
    in_month: dict[int, list[tuple[str, int]]] = defaultdict(list)
    overdue: dict[int, int] = defaultdict(int)
    if village_ids:
        found = session.scalars(
            select(Violation).where(Violation.village_id.in_(village_ids), Violation.period.in_(period.quarters))
        ).all()
        for violation in found:
            if violation.outcome == DISMISSED:
                continue
            at = as_utc(violation.detected_at)
            if period.contains(at):
                in_month[violation.village_id].append((violation.severity, violation.points))
            if since <= at < period.end:
                book = _book(session, violation.village_id)
                unit_charged = scoring.charged_unit(session, violation, book.rules["scoring"].get("charge_to", "step"))
                if unit_charged.id == violation.village_id:
                    charged[violation.village_id].append(violation)
        for violation in session.scalars(
            select(Violation).where(
                Violation.village_id.in_(village_ids),
                Violation.severity == Severity.RED,
                Violation.rectify_by.is_not(None),
            )
        ):
            if violation.outcome == DISMISSED or as_utc(violation.detected_at) >= as_of:
                continue
            if as_utc(violation.rectify_by) < as_of and (
                violation.closed_at is None or as_utc(violation.closed_at) > as_of
            ):
                overdue[violation.village_id] += 1
    entries = []
    for village, vid in zip(villages, village_ids, strict=True):
        book = _book(session, vid)
        deducted = sum(v.points for v in charged.get(vid, []))
        score = book.base_score - deducted
        grade, _notice = book.grade(score)
        tally = _tally(in_month.get(vid, []))
        entries.append((village, score, grade, deducted, tally, overdue.get(vid, 0), list_rules(book)))
    red, black, others = [], [], []
    for village, score, grade, deducted, tally, late, own in entries:
        black_reasons = tuple(
            reason
            for reason, met in (
                ("grade", grade in own["black"].get("grades", [])),
                ("overdue_red", own["black"].get("overdue_red") is not None and late >= own["black"]["overdue_red"]),
            )
            if met
        )
        red_reasons = ("grade", "no_red")
        on_red = (
            not black_reasons
            and grade in own["red"].get("grades", [])
            and (own["red"].get("max_red") is None or tally.red <= own["red"]["max_red"])
            and late == 0
        )
        entry = ListEntry(
            village, score, grade, deducted, tally, late, black_reasons or (red_reasons if on_red else ())
        )
        (black if black_reasons else red if on_red else others).append(entry)
    red.sort(key=lambda e: (-e.score, e.village.code))
    black.sort(key=lambda e: (e.score, -e.overdue_red, e.village.code))
    return Lists(unit, period, as_of, rule["score"], rule, tuple(red), tuple(black), tuple(others))
