"""三务公开: the village's periodic disclosures (党务、村务、财务), generated from the record.

The calendar is rule data (``rules/defaults/disclosures.yaml``, a county's file merged over it): each
kind's period (month or quarter), its due day and what it contains. For a village and a period the
content is generated from the record as canonical JSON, and its SHA-256 digest is shown with it, so a
printed board can be checked against the system.

The workflow, each step one transaction with an :class:`AuditLog` line:

- ``disclosure.prepare``: a village cadre (role set ``disclosing``) generates the content, with a short
  note (masked). Preparing again while it is a draft regenerates it (a new revision number when the
  content or note changed); after a return it makes a new revision, the returned one kept for auditors.
- ``disclosure.review``: the village's 村务监督委员会 (the village-level roles of ``supervising``)
  approves (signs: the content and digest are frozen) or returns it with a reason, naming the revision
  it read (refused when the draft changed since, or when the reviewer prepared it).
- ``disclosure.post``: a cadre posts the approved revision: the day and the places. Posting after the
  due day still posts; the public page says how many days late.

On time: :func:`detect_late` (run by every sweep) raises ``disclosure_late`` once per village, kind and
period whose disclosure was not posted by its due day: from the county's ``checks_from`` or else from the
first period any village of the county prepared, for every village of the county (see :func:`_checked`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.calendar import CST, as_local_day, load_work_calendar
from engine.errors import FieldError, FormInvalid, InvalidState, NotFound
from engine.history.events import EventKind
from engine.org.roles import ROLES
from engine.org.service import get_village
from engine.persistence.db import begin_write
from engine.persistence.enums import InstanceStatus, Level
from engine.persistence.models import AuditLog, DefinitionVersion, HistoryEvent, OrgUnit, ProcessInstance
from engine.policy.rules import access_rules
from engine.public.disclosure_models import Disclosure
from engine.public.masking import mask_personal
from engine.ruleset import DEFAULTS, AreaRulesInvalid, area_rules

FILE, TOP = "disclosures.yaml", "disclosures"
KINDS = ("finance", "village_affairs", "party_affairs")
EVERY = ("month", "quarter")
DRAFT, RETURNED, APPROVED, POSTED = "draft", "returned", "approved", "posted"
STATUS_TITLES = {DRAFT: "待村监会审核", RETURNED: "已退回", APPROVED: "已审核待公开", POSTED: "已公开"}
LATE_CODE = "disclosure_late"
PARTY_STEPS = {"propose": "党支部提议", "review": "党员大会审议"}
PARTY_FLOW = "four_deliberations"
TEXT_CHARS = 120
REASON_MIN = 2


# ---------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class KindRule:
    kind: str
    title: str
    every: str
    month_after: int
    day: int
    next_working_day: bool
    contains: tuple[str, ...]
    legal_basis: str


@dataclass(frozen=True)
class Calendar:
    kinds: dict[str, KindRule]
    checks_from: date | None
    places: tuple[str, ...]
    note_chars: int
    report: dict[str, Any]


def calendar_rules() -> Calendar:
    """The calendar as this deployment's rule files say, checked: every problem names file and key.
    Read again whenever the default or the county's file changes (by path and modification time)."""
    folder = os.environ.get("POWERLIST_RULES_DIR")
    files = [DEFAULTS / FILE, *([Path(folder) / FILE] if folder else [])]
    stamp = tuple((str(f), f.stat().st_mtime_ns if f.is_file() else None) for f in files)
    if _CACHE.get("stamp") != stamp:
        _CACHE.clear()
        _CACHE.update(stamp=stamp, rules=_read_rules())
    return _CACHE["rules"]


_CACHE: dict[str, Any] = {}


def _read_rules() -> Calendar:
    data = area_rules(FILE, TOP, "the 三务公开 calendar")
    problems: list[str] = []
    where = f"{FILE}: {TOP}"
    kinds: dict[str, KindRule] = {}
    raw_kinds = data.get("kinds")
    if not isinstance(raw_kinds, dict) or not raw_kinds:
        problems.append(f"{where}.kinds: a mapping of kind: rule")
        raw_kinds = {}
    for kind, spec in raw_kinds.items():
        key = f"{where}.kinds.{kind}"
        if kind not in KINDS:
            problems.append(f"{key}: unknown kind (one of {', '.join(KINDS)})")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{key}: a mapping")
            continue
        due = spec.get("due") if isinstance(spec.get("due"), dict) else {}
        every, month_after, day = spec.get("every"), due.get("month_after", 1), due.get("day")
        on_day_off = due.get("on_day_off", "next_working_day")
        if every not in EVERY:
            problems.append(f"{key}.every: month or quarter")
        if not isinstance(month_after, int) or not 1 <= month_after <= 3:
            problems.append(f"{key}.due.month_after: a whole number from 1 to 3")
        if not isinstance(day, int) or not 1 <= day <= 28:
            problems.append(f"{key}.due.day: a day of the month from 1 to 28")
        if on_day_off not in ("next_working_day", "keep"):
            problems.append(f"{key}.due.on_day_off: next_working_day or keep")
        if not isinstance(spec.get("title"), str) or not spec.get("title"):
            problems.append(f"{key}.title: the kind's Chinese title")
        if problems:
            continue
        kinds[kind] = KindRule(
            kind,
            spec["title"],
            every,
            month_after,
            day,
            on_day_off == "next_working_day",
            tuple(str(c) for c in spec.get("contains") or ()),
            str(spec.get("legal_basis") or ""),
        )
    checks_from = data.get("checks_from")
    if checks_from is not None and not isinstance(checks_from, date):
        try:
            checks_from = date.fromisoformat(str(checks_from))
        except ValueError:
            problems.append(f"{where}.checks_from: a date (YYYY-MM-DD) or null")
    places = data.get("places") or []
    if not isinstance(places, list) or not all(isinstance(p, str) and p for p in places):
        problems.append(f"{where}.places: a list of place names")
        places = []
    note_chars = data.get("note_chars", 300)
    if not isinstance(note_chars, int) or note_chars < 1:
        problems.append(f"{where}.note_chars: a positive whole number")
    report = data.get("semiannual_report") or {}
    if not isinstance(report, dict):
        problems.append(f"{where}.semiannual_report: a mapping")
        report = {}
    if problems:
        raise AreaRulesInvalid(problems)
    return Calendar(kinds, checks_from, tuple(places), note_chars, report)


# -------------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    kind: str
    key: str  # 2026-11 | 2026Q3
    first: date
    last: date
    due: date

    @property
    def title(self) -> str:
        if "Q" in self.key:
            year, quarter = self.key.split("Q")
            return f"{year}年第{quarter}季度"
        year, month = self.key.split("-")
        return f"{year}年{int(month)}月"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _bounds(every: str, key: str) -> tuple[date, date]:
    try:
        if every == "quarter":
            year, quarter = key.split("Q")
            first = date(int(year), (int(quarter) - 1) * 3 + 1, 1)
            if not 1 <= int(quarter) <= 4:
                raise ValueError
            months = 3
        else:
            year, month = key.split("-")
            first = date(int(year), int(month), 1)
            months = 1
    except ValueError:
        shape = "2026Q3" if every == "quarter" else "2026-11"
        raise FormInvalid("三务公开", [FieldError("period", f"期别“{key}”不对，写成 {shape} 这样")]) from None
    return first, _add_months(first, months) - timedelta(days=1)


def _key_of(every: str, day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}" if every == "quarter" else f"{day.year}-{day.month:02d}"


def due_day(rule: KindRule, last: date) -> date:
    """The last day to post a period ending ``last``: the rule's day of the month ``month_after`` months
    later, moved to the next working day when it is a day off and the rule says so."""
    due = _add_months(last.replace(day=1), rule.month_after).replace(day=rule.day)
    if rule.next_working_day:
        work = load_work_calendar()
        while not work.is_working(due):
            due += timedelta(days=1)
    return due


def period(rules: Calendar, kind: str, key: str) -> Period:
    rule = _kind_rule(rules, kind)
    first, last = _bounds(rule.every, key)
    return Period(kind, _key_of(rule.every, first), first, last, due_day(rule, last))


def periods_ended(rules: Calendar, kind: str, today: date, count: int) -> list[Period]:
    """The ``count`` latest periods of ``kind`` that ended before ``today``, newest first."""
    rule = _kind_rule(rules, kind)
    step = 3 if rule.every == "quarter" else 1
    first, _ = _bounds(rule.every, _key_of(rule.every, today))
    found = []
    for n in range(1, count + 1):
        found.append(period(rules, kind, _key_of(rule.every, _add_months(first, -step * n))))
    return found


def _kind_rule(rules: Calendar, kind: str) -> KindRule:
    if kind not in rules.kinds:
        choices = "、".join(f"{k}（{r.title}）" for k, r in rules.kinds.items())
        raise FormInvalid("三务公开", [FieldError("kind", f"没有“{kind}”这种公开，可选：{choices}")])
    return rules.kinds[kind]


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), CST).astimezone(UTC)


# ----------------------------------------------------------------------------------------- generation


def canonical(content: dict[str, Any]) -> bytes:
    """The one byte form of a disclosure's content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _finance(session: Session, village: OrgUnit, first: date, last: date) -> dict[str, Any]:
    """The period's accounts as 我们的钱包 shows them: balances, income, spending, categories, payments."""
    from engine.public import wallet

    return {"source": "accounts", **_jsonable(wallet.period_summary(session, village.id, first, last))}


def _matters(session: Session, village: OrgUnit, first: date, last: date) -> list[dict[str, Any]]:
    """Per power-list item: matters started and ended in the period (confidential flows left out)."""
    start, end = _moment(first), _moment(last + timedelta(days=1))
    hidden = set(access_rules().confidential)
    rows = session.execute(
        select(DefinitionVersion.key, DefinitionVersion.name, ProcessInstance.started_at, ProcessInstance.ended_at,
               ProcessInstance.status)
        .join(ProcessInstance, ProcessInstance.definition_version_id == DefinitionVersion.id)
        .where(ProcessInstance.village_id == village.id, ProcessInstance.started_at < end)
    ).all()  # fmt: skip
    started: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    names: dict[str, str] = {}
    for key, name, started_at, ended_at, status in rows:
        if key in hidden:
            continue
        names.setdefault(key, name)
        if start <= _utc(started_at) < end:
            started[key] += 1
        if ended_at is not None and status == InstanceStatus.COMPLETED and start <= _utc(ended_at) < end:
            completed[key] += 1
    keys = sorted(set(started) | set(completed))
    return [{"item": k, "name": names[k], "started": started[k], "completed": completed[k]} for k in keys]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _decisions(session: Session, village: OrgUnit, first: date, last: date) -> list[dict[str, Any]]:
    from engine.supervision.decisions import kind_title
    from engine.supervision.models import Decision
    from engine.supervision.violations import book_for_village

    book = book_for_village(session, village.id)
    rows = session.scalars(
        select(Decision)
        .where(
            Decision.village_id == village.id,
            Decision.passed_on >= first.isoformat(),
            Decision.passed_on <= last.isoformat(),
            Decision.status != "revoked",
        )
        .order_by(Decision.passed_on, Decision.number)
    )
    return [
        {
            "number": d.number,
            "kind": kind_title(book, d.kind),
            "purpose": mask_personal(d.purpose, TEXT_CHARS),
            "amount_fen": d.amount_fen,
            "passed_on": d.passed_on,
        }
        for d in rows
    ]


def _power_list(session: Session) -> list[dict[str, Any]]:
    """The power-list items villagers see that have a version in service (the quarterly check item)."""
    from engine.definitions.listing import listed

    shown = listed(session)
    names = dict(
        session.execute(
            select(DefinitionVersion.key, DefinitionVersion.name)
            .where(DefinitionVersion.key.in_(list(shown)), DefinitionVersion.retired.is_(False))
            .order_by(DefinitionVersion.version)
        ).all()
    )  # the newest version's name last
    items = [{"number": shown[key][1], "name": names[key]} for key in shown if key in names]
    return sorted(items, key=lambda item: (item["number"], item["name"]))


def _party(session: Session, village: OrgUnit, first: date, last: date) -> dict[str, Any]:
    """What the record knows of the party branch: the 四议两公开 proposals and party-member reviews."""
    start, end = _moment(first), _moment(last + timedelta(days=1))
    rows = session.execute(
        select(HistoryEvent.step_id, HistoryEvent.at, ProcessInstance.title, ProcessInstance.id)
        .join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .where(
            DefinitionVersion.key == PARTY_FLOW,
            ProcessInstance.village_id == village.id,
            HistoryEvent.kind == EventKind.TASK_COMPLETED,
            HistoryEvent.step_id.in_(list(PARTY_STEPS)),
            HistoryEvent.at >= start,
            HistoryEvent.at < end,
        )
        .order_by(HistoryEvent.at, HistoryEvent.id)
    ).all()
    meetings = [
        {
            "step": PARTY_STEPS[step],
            "date": as_local_day(at).isoformat(),
            "matter": mask_personal(title or "", TEXT_CHARS),
        }
        for step, at, title, _id in rows
    ]
    counts = Counter(m["step"] for m in meetings)
    return {"meetings": meetings, "counts": [{"step": s, "count": counts[s]} for s in PARTY_STEPS.values()]}


def generate(session: Session, village: OrgUnit, rules: Calendar, kind: str, key: str) -> dict[str, Any]:
    """A disclosure's content, from the record only: the same record gives the same content and digest."""
    found = period(rules, kind, key)
    content: dict[str, Any] = {
        "village": village.code,
        "kind": kind,
        "title": rules.kinds[kind].title,
        "period": found.key,
        "first": found.first.isoformat(),
        "last": found.last.isoformat(),
        "contains": list(rules.kinds[kind].contains),
    }
    if kind == "finance":
        content["finance"] = _finance(session, village, found.first, found.last)
    elif kind == "village_affairs":
        content["matters"] = _matters(session, village, found.first, found.last)
        content["decisions"] = _decisions(session, village, found.first, found.last)
        content["power_list"] = _power_list(session)
    else:
        content["party"] = _party(session, village, found.first, found.last)
    return content


# ------------------------------------------------------------------------------------------- policy


def _review_roles() -> frozenset[str]:
    """The village's own 村监会: the village-level roles of ``supervising``."""
    return frozenset(r for r in access_rules().roles("supervising") if r in ROLES and ROLES[r].level == Level.VILLAGE)


def decide(session: Session, action: str, target: OrgUnit, holds) -> str | None:
    """``disclosure.read|prepare|review|post`` on a village: None, "hidden" or "denied"."""
    rules = access_rules()
    disclosing = rules.roles("disclosing")
    readers = disclosing | rules.roles("supervising") | rules.roles("read_only")
    if not isinstance(target, OrgUnit) or not holds(readers | rules.roles("acting"), target.id):
        return "hidden"
    if action == "disclosure.read":
        return None if holds(readers, target.id) else "denied"
    if action in ("disclosure.prepare", "disclosure.post"):
        return None if holds(disclosing, target.id) else "denied"
    if action == "disclosure.review":
        return None if holds(_review_roles(), target.id) else "denied"
    raise ValueError(f"unknown action '{action}'")


# ----------------------------------------------------------------------------------------- workflow


def _revisions(session: Session, village_id: int, kind: str, key: str) -> list[Disclosure]:
    return list(
        session.scalars(
            select(Disclosure)
            .where(Disclosure.village_id == village_id, Disclosure.kind == kind, Disclosure.period == key)
            .order_by(Disclosure.revision)
        )
    )


def _audit(session: Session, actor: str, action: str, village: OrgUnit, row: Disclosure, now: datetime, **more):
    detail = {"village": village.code, "kind": row.kind, "period": row.period, "revision": row.revision}
    detail.update({"digest": row.digest, **more})
    subject = f"{village.code}/{row.kind}/{row.period}#{row.revision}"
    session.add(AuditLog(at=now, actor=actor, action=action, subject=subject, detail=detail))


def prepare(
    session: Session, actor: str, village_code: str, kind: str, key: str, note: str | None = None
) -> Disclosure:
    """Generate (or regenerate, while a draft) the village's disclosure of ``kind`` for period ``key``."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.prepare", village)
    rules = calendar_rules()
    found = period(rules, kind, key)
    now = clock.now()
    if found.last >= as_local_day(now):
        raise InvalidState(
            f"{found.title}还没结束，期满后再生成公开", code="disclosure.not_ended", params={"period": found.key}
        )
    shown_note = mask_personal(note, rules.note_chars).strip() if note else None
    content = generate(session, village, rules, kind, found.key)
    revisions = _revisions(session, village.id, kind, found.key)
    latest = revisions[-1] if revisions else None
    if latest is not None and latest.status in (APPROVED, POSTED):
        raise InvalidState(
            f"{found.title}的{rules.kinds[kind].title}已经村监会审核，不能再改",
            code="disclosure.frozen",
            params={"period": found.key},
        )
    if latest is not None and latest.status == DRAFT:
        row = latest
        if (row.digest, row.note) != (digest_of(content), shown_note):
            # A changed draft is a new revision: the 村监会 signs the revision it read, not a later one.
            row.revision = max(r.revision for r in revisions) + 1
            row.content, row.digest, row.note = content, digest_of(content), shown_note
            row.prepared_by, row.prepared_at, row.due_on = actor, now, found.due.isoformat()
    else:
        row = Disclosure(
            village_id=village.id,
            kind=kind,
            period=found.key,
            revision=(latest.revision + 1) if latest else 1,
            status=DRAFT,
            due_on=found.due.isoformat(),
            content=content,
            digest=digest_of(content),
            note=shown_note,
            prepared_by=actor,
            prepared_at=now,
        )
        session.add(row)
    session.flush()
    _audit(session, actor, "disclosure.prepare", village, row, now)
    return row


def _latest(session: Session, village: OrgUnit, rules: Calendar, kind: str, key: str) -> tuple[Period, Disclosure]:
    found = period(rules, kind, key)
    revisions = _revisions(session, village.id, kind, found.key)
    if not revisions:
        raise NotFound(
            f"{found.title}的{rules.kinds[kind].title}还没有生成",
            code="disclosure.not_prepared",
            params={"period": found.key},
        )
    return found, revisions[-1]


def review(
    session: Session,
    actor: str,
    village_code: str,
    kind: str,
    key: str,
    *,
    revision: int,
    approve: bool,
    reason: str | None = None,
) -> Disclosure:
    """The 村监会 signs the draft (its content and digest frozen) or returns it with a reason.

    ``revision`` is the revision the reviewer read: refused when the draft has changed since (a changed
    draft is a new revision), and refused to the person who prepared it (who may hold both roles)."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.review", village)
    rules = calendar_rules()
    found, row = _latest(session, village, rules, kind, key)
    if row.status != DRAFT:
        raise InvalidState(
            f"{found.title}的{rules.kinds[kind].title}不是待审核状态（{STATUS_TITLES[row.status]}）",
            code="disclosure.not_draft",
            params={"period": found.key, "status": row.status},
        )
    if revision != row.revision:
        raise InvalidState(
            f"{found.title}的{rules.kinds[kind].title}在您审阅之后重新生成过（您看的是第 {revision} 版，现在是第 "
            f"{row.revision} 版），请看过新的内容再审核",
            code="disclosure.changed",
            params={"period": found.key, "read": revision, "revision": row.revision},
        )
    if row.prepared_by == actor:
        raise InvalidState(
            f"{found.title}的{rules.kinds[kind].title}是您生成的，须由村监会的其他成员审核",
            code="disclosure.own_preparation",
            params={"period": found.key},
        )
    shown = mask_personal(reason or "", 500).strip()
    if not approve and len(shown) < REASON_MIN:
        raise FormInvalid("审核三务公开", [FieldError("reason", "退回时请写明理由")])
    now = clock.now()
    if digest_of(row.content) != row.digest:  # the draft's stored content no longer matches its digest
        raise InvalidState("公开内容与摘要不符，请重新生成", code="disclosure.digest_mismatch")
    row.status = APPROVED if approve else RETURNED
    row.reviewed_by, row.reviewed_at, row.review_note = actor, now, (shown or None)
    _audit(session, actor, "disclosure.review", village, row, now, approved=approve, reason=shown or None)
    return row


def post(
    session: Session,
    actor: str,
    village_code: str,
    kind: str,
    key: str,
    *,
    places: list[str] | None = None,
) -> Disclosure:
    """Post the approved revision today (China time) at ``places`` (by default the first place)."""
    begin_write(session)
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.post", village)
    rules = calendar_rules()
    found, row = _latest(session, village, rules, kind, key)
    if row.status != APPROVED:
        raise InvalidState(
            f"{found.title}的{rules.kinds[kind].title}须经村监会审核签字后才能公开（现在：{STATUS_TITLES[row.status]}）",
            code="disclosure.not_approved",
            params={"period": found.key, "status": row.status},
        )
    chosen = [p.strip() for p in places or [] if p and p.strip()] or list(rules.places[:1])
    unknown = [p for p in chosen if p not in rules.places]
    if unknown:
        allowed = "、".join(rules.places)
        raise FormInvalid("公开三务", [FieldError("places", f"没有“{unknown[0]}”这个公开地点，可选：{allowed}")])
    now = clock.now()
    row.status, row.posted_by, row.posted_at = POSTED, actor, now
    row.posted_on, row.places = as_local_day(now).isoformat(), chosen
    _audit(session, actor, "disclosure.post", village, row, now, places=chosen, late_days=late_days(row))
    return row


def late_days(row: Disclosure, today: date | None = None) -> int:
    """Days past the due day: of the posting, or (not posted yet) of ``today``; 0 when on time."""
    due = date.fromisoformat(row.due_on)
    seen = date.fromisoformat(row.posted_on) if row.posted_on else today
    return max(0, (seen - due).days) if seen else 0


# ------------------------------------------------------------------------------------------ reading


def _shown(row: Disclosure | None, found: Period, rules: Calendar, today: date, staff: bool) -> dict[str, Any]:
    rule = rules.kinds[found.kind]
    posted = row is not None and row.status == POSTED
    seen = {
        "kind": found.kind,
        "kind_title": rule.title,
        "every": rule.every,
        "period": found.key,
        "period_title": found.title,
        "first": found.first.isoformat(),
        "last": found.last.isoformat(),
        "due_on": found.due.isoformat(),
        "legal_basis": rule.legal_basis,
        "posted_on": row.posted_on if posted else None,
        "places": list(row.places or []) if posted else [],
        "late_days": (
            max(0, (date.fromisoformat(row.posted_on) - found.due).days) if posted else max(0, (today - found.due).days)
        ),  # fmt: skip
        "overdue": not posted and today > found.due,
        "content": row.content if posted else None,
        "digest": row.digest if posted else None,
        "note": row.note if posted else None,
    }
    if staff:
        seen["status"] = row.status if row else None
        seen["status_title"] = STATUS_TITLES.get(row.status, "") if row else "未生成"
        seen["revision"] = row.revision if row else None
        seen["digest"] = row.digest if row else None
        seen["content"] = row.content if row else None
        seen["note"] = row.note if row else None
        seen["review_note"] = row.review_note if row else None
    return seen


def calendar_of(session: Session, village: OrgUnit, today: date, *, staff: bool = False) -> list[dict[str, Any]]:
    """The last 12 months of finance and the last 4 quarters of the other kinds, newest first, each with
    its latest revision (public: only what was posted)."""
    rules = calendar_rules()
    rows = session.scalars(select(Disclosure).where(Disclosure.village_id == village.id))
    latest: dict[tuple[str, str], Disclosure] = {}
    for row in rows:
        if (row.kind, row.period) not in latest or latest[(row.kind, row.period)].revision < row.revision:
            latest[(row.kind, row.period)] = row
    shown = []
    for kind, rule in rules.kinds.items():
        for found in periods_ended(rules, kind, today, 12 if rule.every == "month" else 4):
            shown.append(_shown(latest.get((kind, found.key)), found, rules, today, staff))
    shown.sort(key=lambda s: (s["last"], KINDS.index(s["kind"])), reverse=True)
    return shown


def revisions_of(session: Session, actor: str, village_code: str, kind: str, key: str) -> list[dict[str, Any]]:
    """Every revision of one disclosure, returned ones too (for the village's staff and auditors)."""
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.read", village)
    found = period(calendar_rules(), kind, key)
    return [
        {
            "revision": r.revision,
            "status": r.status,
            "status_title": STATUS_TITLES[r.status],
            "digest": r.digest,
            "prepared_at": r.prepared_at.isoformat() if r.prepared_at else None,
            "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None,
            "review_note": r.review_note,
            "posted_on": r.posted_on,
            "content": r.content,
        }
        for r in _revisions(session, village.id, kind, found.key)
    ]


def due_for(session: Session, actor: str, village_code: str, today: date | None = None) -> list[dict[str, Any]]:
    """The village's calendar as its staff see it: every recent period with its revision's state."""
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.read", village)
    return calendar_of(session, village, today or as_local_day(clock.now()), staff=True)


def public_page(session: Session, village: OrgUnit, today: date | None = None) -> dict[str, Any]:
    """What villagers see: the calendar (posted content and digests only) and the half-yearly reports."""
    today = today or as_local_day(clock.now())
    return {"periods": calendar_of(session, village, today), "reports": semiannual_reports(session, village)}


def section(session: Session, village: OrgUnit) -> dict[str, Any]:
    """The village page's part: the latest posted disclosure of each kind and what is overdue."""
    periods = calendar_of(session, village, as_local_day(clock.now()))
    latest: dict[str, dict[str, Any]] = {}
    for p in periods:
        if p["posted_on"] and p["kind"] not in latest:
            latest[p["kind"]] = p
    return {
        "latest": [latest[k] for k in KINDS if k in latest],
        "overdue": [p for p in periods if p["overdue"]],
    }


def semiannual_reports(session: Session, village: OrgUnit) -> list[dict[str, Any]]:
    """The half-yearly reports to the 代表会议 (flow ``semiannual_report``) and their votes, newest first:
    only reports the 村监会 agreed to put before the 代表会议 (a draft is not a report yet), none that was
    cancelled, and one per half year (the newest such matter)."""
    from engine.supervision.facts import matter_facts

    key = str(calendar_rules().report.get("flow") or "semiannual_report")
    instances = list(
        session.scalars(
            select(ProcessInstance)
            .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
            .where(DefinitionVersion.key == key, ProcessInstance.village_id == village.id)
            .order_by(ProcessInstance.started_at.desc())
        )
    )
    reports = []
    halves: set[str] = set()
    for instance in instances:
        if instance.status == InstanceStatus.CANCELLED:
            continue
        forms = matter_facts(session, instance, key).steps
        draft, vote = forms.get("draft_report", {}), forms.get("vote", {})
        if forms.get("supervise_report", {}).get("review_result") != "agreed":
            continue  # not reviewed by the 村监会 yet, or returned to be redrafted
        half = draft.get("half_year") if isinstance(draft.get("half_year"), str) else ""
        if half in halves:
            continue  # an older report of the same half year
        halves.add(half)
        reports.append(
            {
                "half": mask_personal(draft.get("half_year") or "", 20),
                "summary": mask_personal(draft.get("report_summary") or "", 500),
                "digest": draft.get("summary_digest") if isinstance(draft.get("summary_digest"), str) else None,
                "meeting_date": vote.get("meeting_date") if isinstance(vote.get("meeting_date"), str) else None,
                "members": vote.get("members") if isinstance(vote.get("members"), int) else None,
                "present": vote.get("present") if isinstance(vote.get("present"), int) else None,
                "votes_for": vote.get("votes_for") if isinstance(vote.get("votes_for"), int) else None,
                "votes_against": vote.get("votes_against") if isinstance(vote.get("votes_against"), int) else None,
                "passed": vote.get("passed") if isinstance(vote.get("passed"), bool) else None,
                "status": instance.status,
            }
        )
    return reports


def summary_for(session: Session, actor: str, village_code: str, half: str) -> dict[str, Any]:
    """:func:`half_year_summary` for the village's staff and auditors; ``half`` like ``2026H1``."""
    village = get_village(session, village_code)
    policy.require(session, actor, "disclosure.read", village)
    text = (half or "").strip().upper()
    if len(text) != 6 or not text[:4].isdigit() or text[4] != "H" or text[5] not in "12":
        raise FormInvalid("半年工作报告", [FieldError("half", f"报告期“{half}”不对，写成 2026H1 或 2026H2")])
    return half_year_summary(session, village, int(text[:4]), int(text[5]))


def half_year_summary(session: Session, village: OrgUnit, year: int, half: int) -> dict[str, Any]:
    """The generated summary a half-yearly report attaches: all matters and decisions of the half year,
    with its digest."""
    first = date(year, 1 if half == 1 else 7, 1)
    last = date(year, 6, 30) if half == 1 else date(year, 12, 31)
    content = {
        "village": village.code,
        "half": f"{year}H{half}",
        "first": first.isoformat(),
        "last": last.isoformat(),
        "matters": _matters(session, village, first, last),
        "decisions": _decisions(session, village, first, last),
    }
    return {"content": content, "digest": digest_of(content)}


# ---------------------------------------------------------------------------------------- on time


def _county_of(unit: OrgUnit | None) -> int | None:
    """The id of the county above a unit (the unit itself when it is a county; the top unit otherwise)."""
    top = None
    while unit is not None:
        top = unit.id
        if unit.level == Level.COUNTY:
            return unit.id
        unit = unit.parent
    return top


def _checked(session: Session, rules: Calendar) -> dict[tuple[int, str], date | None]:
    """(village id, kind) -> the first day from which that kind is checked in that village.

    When the county set ``checks_from``: None for every kind of every active village (checked for the
    periods due from that day). Otherwise a kind goes live in a county with the first period any village
    of the county prepared, and from there every active village of the county is checked, whether it
    prepared anything or not: a village cannot dodge the check by never preparing or by starting late."""
    villages = list(session.scalars(select(OrgUnit).where(OrgUnit.level == Level.VILLAGE, OrgUnit.active.is_(True))))
    if rules.checks_from is not None:
        return {(v.id, kind): None for v in villages for kind in rules.kinds}
    county = {v.id: _county_of(v) for v in villages}
    live: dict[tuple[int | None, str], date] = {}
    prepared = session.execute(select(Disclosure.village_id, Disclosure.kind, Disclosure.period).distinct()).all()
    for vid, kind, key in prepared:
        if kind not in rules.kinds:
            continue
        try:
            first, _ = _bounds(rules.kinds[kind].every, key)
        except FormInvalid:  # a period of a calendar since changed (month to quarter): not a start
            continue
        where = (county[vid] if vid in county else _county_of(session.get(OrgUnit, vid)), kind)
        if where not in live or first < live[where]:
            live[where] = first
    return {
        (v.id, kind): live[(county[v.id], kind)]
        for v in villages
        for kind in rules.kinds
        if (county[v.id], kind) in live
    }


def late_findings(session: Session, now: datetime) -> list[Any]:
    """The ``disclosure_late`` findings not raised yet: each village, kind and period past its due day and
    not posted by it (a read, no lock: the sweep asks this first and locks only when there is one)."""
    from engine.supervision.models import Violation
    from engine.supervision.violations import Finding

    rules = calendar_rules()
    today = as_local_day(now)
    starts = _checked(session, rules)
    if not starts:
        return []
    posted = {
        (r.village_id, r.kind, r.period): r.posted_on
        for r in session.execute(
            select(Disclosure.village_id, Disclosure.kind, Disclosure.period, Disclosure.posted_on).where(
                Disclosure.status == POSTED
            )
        ).all()
    }
    raised_keys = set(session.scalars(select(Violation.dedup_key).where(Violation.code == LATE_CODE)))
    findings = []
    for (vid, kind), start in sorted(starts.items()):
        rule = rules.kinds[kind]
        for found in periods_ended(rules, kind, today, 13 if rule.every == "month" else 5):
            if found.due >= today:
                continue  # not late before its due day has ended
            if start is not None and found.first < start:
                continue
            if start is None and rules.checks_from is not None and found.due < rules.checks_from:
                continue
            on = posted.get((vid, kind, found.key))
            if on is not None and on <= found.due.isoformat():
                continue
            dedup = f"{LATE_CODE}:{vid}:{kind}:{found.key}"
            if dedup in raised_keys:
                continue
            late = f"，{on} 才公开" if on else "，至今未公开"
            findings.append(
                Finding(
                    code=LATE_CODE,
                    village_id=vid,
                    dedup_key=dedup,
                    message=f"{found.title}{rule.title}应于 {found.due.isoformat()} 前公开{late}",
                    evidence=[
                        {
                            "kind": kind,
                            "period": found.key,
                            "due_on": found.due.isoformat(),
                            "posted_on": on,
                            "legal_basis": rule.legal_basis,
                        }
                    ],
                    responsible_role="party_secretary" if kind == "party_affairs" else "committee_chair",
                )
            )
    return findings


def detect_late(session: Session, now: datetime) -> list[Any]:
    """Raise ``disclosure_late`` for each village, kind and period not posted by its due day (once each);
    the caller holds the write lock."""
    from engine.supervision.violations import book_for_village, raise_violation

    raised = []
    for finding in late_findings(session, now):
        violation = raise_violation(session, book_for_village(session, finding.village_id), finding, now)
        if violation is not None:
            raised.append(violation)
    return raised


def readable_villages(session: Session, actor: str) -> list[OrgUnit]:
    """The villages whose disclosures ``actor`` may read as staff, by code."""
    from engine.public.villages import villages

    return [v for v in villages(session) if policy.may(session, actor, "disclosure.read", v)]


def may(session: Session, actor: str, action: str, village: OrgUnit) -> bool:
    return policy.may(session, actor, f"disclosure.{action}", village)


def places() -> list[str]:
    return list(calendar_rules().places)
