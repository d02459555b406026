"""Demo data: one county, two towns, four villages, two users for every role in each unit, the shipped
flows published to the demo county and shown to its villagers, and (:func:`load_matters`) a year of
matters in the villages.

The matters are the flows' example paths (``processes/*/examples.yaml``) run through the engine at
dates spread over the last twelve months with the engine clock set back, the dates in their forms moved
along; some go wrong on purpose (a forced step, steps left overdue, a payment before approval, split
payments, cash above the limit, more paid than approved), and supervisors handle some of the warnings
with the same command as their pages. Villagers' reports arrive by 码上举报.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from engine import api, clock
from engine.calendar import CST
from engine.catalog.examples import ExamplePath, cite, examples_path, load_examples
from engine.clock import as_utc
from engine.definitions import listing
from engine.definitions.deploy import deploy
from engine.definitions.models import VillagerListing
from engine.definitions.validate import load_definition_file
from engine.errors import PowerlistError
from engine.org.passwords import hash_password
from engine.org.service import ensure_unit, ensure_user, grant
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import Matter, OpenTask, OrgUnit
from engine.public import reports
from engine.runtime import forms
from engine.runtime.loaded import loaded
from engine.supervision import decisions, evidence, handling
from engine.supervision.models import Violation, ViolationStatus
from engine.workspace import attachments
from powerlist import demo_disclosures, demo_subsidies, demo_wallet
from powerlist.demo_people import (
    COUNTY,
    COUNTY_ROLES,
    TOWN_ROLES,
    TOWN_SLUGS,
    TOWNS,
    VILLAGE_ROLES,
    VILLAGES,
    holder,
)

DEMO_PASSWORD = "powerlist-demo"  # noqa: S105 - printed on purpose for the demo
PROCESSES = Path(__file__).resolve().parent.parent / "processes"




def shipped_flows() -> list[Path]:
    return sorted(PROCESSES.glob("*/*.bpmn"))


def load_demo(session: Session, deploy_flows: bool = True) -> dict[str, Any]:
    """The demo organisation and users, and (unless ``deploy_flows`` is false) the shipped flows."""
    users: list[dict[str, str]] = []
    # Every demo user shares the printed demo password; hash it once.
    demo_hash = hash_password(DEMO_PASSWORD)

    second_names = iter(SECOND_NAMES * 4)

    def person(username: str, display: str, role: str, unit) -> None:
        """The role's two holders in the unit: ``username`` and ``username2`` (so 转办 has someone to go to)."""
        for name, shown in ((username, display), (f"{username}2", f"{display}{next(second_names)}")):
            user = ensure_user(session, name, shown, password_hash=demo_hash)
            grant(session, user, role, unit)
            users.append({"username": name, "roles": f"{role}@{unit.code}"})

    county = ensure_unit(session, COUNTY[0], COUNTY[1], "county")
    for role, (username, title) in COUNTY_ROLES.items():
        person(username, shown_as(COUNTY[1], title), role, county)
    for town_code, (town_name, villages) in TOWNS.items():
        town = ensure_unit(session, town_code, town_name, "town", county)
        slug = TOWN_SLUGS[town_code]
        for role, (suffix, title) in TOWN_ROLES.items():
            person(f"{slug}.{suffix}", shown_as(town_name, title), role, town)
        for village_code, (village_name, vslug) in villages.items():
            village = ensure_unit(session, village_code, village_name, "village", town)
            for role, (suffix, title) in VILLAGE_ROLES.items():
                person(f"{vslug}.{suffix}", shown_as(village_name, title), role, village)

    deployed, skipped = [], []
    for path in shipped_flows() if deploy_flows else []:
        report = load_definition_file(path)
        if not report.ok:
            skipped.append(f"skipped {path.name}: " + "; ".join(str(p) for p in report.problems[:3]))
            continue
        result = deploy(session, report, path.read_bytes(), actor=None, counties=[county.code])
        line = f"deployed {result.key} v{result.version}" + ("" if result.created else " (unchanged)")
        # shown to villagers (向村民公示): the shipped files were reviewed by whoever put them on the server
        shown = session.get(VillagerListing, result.key)
        if (shown is None or shown.version != result.version) and listing.show_deployed_file(session, result.key, None):
            line += ", shown to villagers"
        deployed.append(line)
    return {"users": users, "deployed": deployed, "skipped": skipped}


def shown_as(unit_name: str, title: str) -> str:
    """A demo user's name: the unit's name and the office, the level word said once ("东溪镇纪委",
    "上塘村干部", not "东溪镇镇纪委")."""
    if unit_name[-1:] in ("县", "镇", "乡", "村") and title.startswith(unit_name[-1]) and len(title) > 1:
        return unit_name + title[1:]
    return unit_name + title


# ---------------------------------------------------------------------------------------------------
# A year of matters: the shipped flows' example paths run through the engine at dates spread over the
# last twelve months, in several villages, with each kind of violation and some handled.

SECOND_NAMES = [
    "王建国",
    "李秀英",
    "张伟",
    "刘芳",
    "陈志强",
    "杨丽",
    "赵敏",
    "黄海",
    "周杰",
    "吴霞",
    "徐明",
    "孙红",
    "胡军",
    "朱琳",
    "高峰",
    "林静",
    "何勇",
    "郭燕",
    "马超",
    "罗娟",
    "梁斌",
    "宋佳",
    "郑浩",
    "谢萍",
    "韩磊",
    "唐婷",
    "冯涛",
    "于洁",
    "董鹏",
    "萧雪",
    "程亮",
    "曹慧",
    "袁刚",
    "邓玲",
    "许波",
    "傅颖",
]
SIZES = {"full": 1.0, "small": 0.25}
PAYEES = [
    "某五金店",
    "恒通电器行",
    "绿源苗木场",
    "鑫达建材店",
    "便民印刷店",
    "村东农资店",
    "城关文具店",
    "清溪水电维修部",
]
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SAMPLE_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
@dataclass
class Plan:
    """One demo matter: an example path of flow ``key`` run in ``village`` from ``start`` on; ``stop``
    steps done and the rest left open (None: all); ``change`` replaces a step's data; ``twist`` names
    what goes wrong in it."""

    key: str
    path: ExamplePath
    village: str
    start: datetime
    stop: int | None = None
    change: dict[str, dict[str, Any]] = field(default_factory=dict)
    waive: dict[str, str] = field(default_factory=dict)
    force: str | None = None
    twist: str = "lawful"
    title: str | None = None


@dataclass
class MatterReport:
    matters: int = 0
    completed: int = 0
    open: int = 0
    complaints: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    handled: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    already: bool = False
    seconds: float = 0.0

    def lines(self) -> list[str]:
        if self.already:
            return [f"demo matters: already loaded ({self.matters} matters, {sum(self.violations.values())} warnings)"]
        lines = [
            f"demo matters: {self.matters} ({self.completed} completed, {self.open} open, "
            f"{self.complaints} villagers' reports) in {self.seconds:.1f} s",
            "demo warnings: " + ", ".join(f"{code} {n}" for code, n in sorted(self.violations.items())),
            "demo handling: " + (", ".join(f"{a} {n}" for a, n in sorted(self.handled.items())) or "none"),
        ]
        lines += [f"demo matter not made: {failure}" for failure in self.failed]
        return lines


def _moved(day: date, months: int) -> date:
    """``day`` moved by whole ``months`` (the day of the month kept, or the month's last)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = (date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def _shift(value: Any, months: int) -> Any:
    """``value`` with every ISO date moved by whole ``months`` (so monthly inspections stay monthly)."""
    if not months:
        return value
    if isinstance(value, dict):
        return {key: _shift(item, months) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, months) for item in value]
    if isinstance(value, str) and DATE.match(value):
        try:
            return _moved(date.fromisoformat(value), months).isoformat()
        except ValueError:
            return value
    return value


def _dates(value: Any, found: list[date]) -> list[date]:
    if isinstance(value, dict):
        for item in value.values():
            _dates(item, found)
    elif isinstance(value, list):
        for item in value:
            _dates(item, found)
    elif isinstance(value, str) and DATE.match(value):
        try:
            found.append(date.fromisoformat(value))
        except ValueError:
            pass
    return found


def _examples() -> dict[str, list[ExamplePath]]:
    found = {}
    for path in shipped_flows():
        file = examples_path(path)
        if file.exists():
            found[path.stem] = load_examples(file)
    return found


def demo_matters_loaded(session: Session) -> int:
    """How many matters the demo villages hold (the demo's matters are made once)."""
    villages = select(OrgUnit.id).where(OrgUnit.code.in_(VILLAGES))
    return session.scalar(
        select(func.count()).select_from(Matter).where(Matter.village_id.in_(villages))
    )


def plans(now: datetime, size: str = "full") -> list[Plan]:
    """The demo's matters, from a year ago until last week, each flow's paths in turn."""
    rng = random.Random(12)
    share = SIZES[size]
    library = _examples()
    found: list[Plan] = []

    def when(low: int, high: int) -> datetime:
        """A working-day morning between ``low`` and ``high`` days ago."""
        day = (now - timedelta(days=rng.randint(low, high))).astimezone(CST)
        day = day.replace(hour=rng.choice((8, 9, 10, 14, 15)), minute=rng.randint(0, 59), second=0, microsecond=0)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return day

    # Lawful matters: every path of every flow in its own village, and the ending paths again elsewhere.
    rounds = max(1, round(3 * share))
    for key, paths in library.items():
        for number, path in enumerate(paths):
            for turn in range(rounds):
                if turn and (number % 2 or key == "rectification"):
                    continue  # the main paths again in other villages; the rarer ones once
                village = path.village if turn == 0 else VILLAGES[(VILLAGES.index(path.village) + turn) % 4]
                found.append(Plan(key, path, village, when(40, 350)))
    if share < 1:
        found = found[:: max(1, round(1 / share))]
    for plan in found:  # the village pays many shops, not one (one payee paid often looks like a split)
        voucher = next((s.data for s in plan.path.steps if s.step == "voucher" and "payee" in s.data), None)
        if plan.key == "fund_payment" and voucher is not None:
            plan.change = {"voucher": {**voucher, "payee": rng.choice(PAYEES)}}
    fund = {p.name: p for p in library.get("fund_payment", [])}
    four = {p.name: p for p in library.get("four_deliberations", [])}
    works = {p.name: p for p in library.get("small_works", [])}
    small = fund.get("village_head_800_yuan")
    if small:
        voucher = next(s.data for s in small.steps if s.step == "voucher")
        # 超期: matters left at a step for weeks (the sweep makes the warnings).
        for index, village in enumerate(VILLAGES):
            found.append(
                Plan("fund_payment", small, village, when(25 + index * 5, 30 + index * 5), stop=2, twist="overdue")
            )
        # 先付后审: paid from the village card while the voucher waits for its signature.
        for village in VILLAGES[:2]:
            found.append(Plan("fund_payment", small, village, when(60, 200), stop=1, twist="payment_before_approval"))
        # 拆分支付: two vouchers just under the village head's limit to one payee within days.
        for village in (VILLAGES[1], VILLAGES[3]):
            first = when(90, 250)
            for offset, fen in ((0, 95_000), (3, 98_000)):
                change = {"voucher": {**voucher, "amount_fen": fen, "payee": "顺发建材店"}}
                found.append(
                    Plan("fund_payment", small, village, first + timedelta(days=offset), change=change, twist="split")
                )
        # 支出超过批准金额: more paid than the voucher approved.
        for village in VILLAGES[::2]:
            payment = next(s.data for s in small.steps if s.step == "payment")
            change = {"payment": {**payment, "paid_amount_fen": 150_000}}
            found.append(Plan("fund_payment", small, village, when(60, 300), change=change, twist="paid_above"))
    joint = fund.get("joint_meeting_5000_yuan")
    if joint:
        # 超限额使用现金: 5,000 yuan paid in cash.
        for village in VILLAGES[1::2]:
            step = next(s for s in joint.steps if s.step == "voucher")
            change = {"voucher": {**step.data, "payment_method": "cash", "payee_account": ""}}
            found.append(Plan("fund_payment", joint, village, when(60, 300), change=change, twist="cash"))
    # 强制跳过: the town agency moves a matter past a step.
    for paths, step in ((four, "supervisory_review"), (works, None)):
        path = next(iter(paths.values()), None)
        if path:
            target = step if step in {s.step for s in path.steps} else path.steps[len(path.steps) // 2].step
            found.append(Plan(path_key(library, path), path, VILLAGES[2], when(50, 250), force=target, twist="forced"))
    # Matters under way: the last weeks' work, open on the cadres' desks.
    for key, paths in library.items():
        if key == "rectification":
            continue
        path = paths[0]
        for village in VILLAGES[: 2 if share < 1 else 4]:
            found.append(
                Plan(key, path, village, when(1, 6), stop=rng.randint(0, max(0, len(path.steps) - 1)), twist="open")
            )
    return sorted(found, key=lambda plan: plan.start)


def path_key(library: dict[str, list[ExamplePath]], path: ExamplePath) -> str:
    return next(key for key, paths in library.items() if path in paths)


def _attachments(session: Session, task: OpenTask, actor: str, folder: Path | None) -> dict[str, list[int]]:
    """A sample file in every attachment slot of the task (a scan of the minutes, a photo of the invoice)."""
    definition = loaded(session.get(Matter, task.instance_id).definition)
    schema, _text = definition.form(definition.step(task.step_id))
    chosen: dict[str, list[int]] = {}
    for slot in forms.form_spec(schema).attachments:
        if not slot["accept"] or attachments.accepts(slot["accept"], "application/pdf"):
            content, name = SAMPLE_PDF, f"{slot['name']}.pdf"
        else:
            content, name = SAMPLE_PNG, f"{slot['name']}.png"
        chosen[slot["name"]] = [attachments.store_upload(session, folder, content, name, actor).id]
    return chosen


def _open(session: Session, instance_id: int) -> list[OpenTask]:
    return list(session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id).order_by(OpenTask.id)))


def run_plan(
    sessions, plan: Plan, rng: random.Random, now: datetime, moved: bool = True, folder: Path | None = None
) -> int:
    """Start the plan's matter and do its steps, each on the day its form's dates say (the dates moved
    to the plan's months unless ``moved`` is false), each command in its own transaction as a person
    would; the matter's id."""
    path = plan.path
    dates = _dates([s.data for s in path.steps] + [path.start], [])
    months = 0
    if dates and moved:
        first, start = min(dates), plan.start.astimezone(CST).date()
        months = (start.year * 12 + start.month) - (first.year * 12 + first.month)
        if _moved(first, months) > start:
            months -= 1
        done = [s.data for s in path.steps[: plan.stop]]
        while months > 0 and max(_dates(_shift(done, months), []), default=first) > now.astimezone(CST).date():
            months -= 1  # a matter under way reports no day still to come
    clock.clock.set(plan.start)
    village = plan.village
    entries = {name: {**entry, "passed_on": _shift(entry["passed_on"], months)} for name, entry in path.cited().items()}
    numbers = {}
    with sessions() as session, session.begin():
        for name, entry in entries.items():  # entered in the register on the day they were passed, or later
            passed = datetime.combine(date.fromisoformat(entry["passed_on"]), datetime.min.time(), CST)
            clock.clock.set(min(max(plan.start, passed + timedelta(hours=17)), now))
            numbers[name] = decisions.record_paper(session, holder("town_agency", village), village, **entry).number
        clock.clock.set(plan.start)
        starter = path.started_by or loaded_step_role(session, plan.key, path.steps[0].step)
        second = rng.random() < 0.4
        started = api.start(
            session,
            plan.key,
            village,
            holder(starter, village, second),
            _shift(path.start, months),
            plan.title or path.title,
        )
    instance_id = started.instance_id
    turns: dict[str, int] = {}
    for number, step in enumerate(path.steps):
        if plan.stop is not None and number >= plan.stop:
            break
        data = cite(_shift(plan.change.get(step.step, step.data), months), numbers)
        with sessions() as session, session.begin():
            _step(session, plan, instance_id, step.step, data, turns, rng, now, folder)
    return instance_id


def _step(
    session: Session,
    plan: Plan,
    instance_id: int,
    step_name: str,
    data: dict[str, Any],
    turns: dict[str, int],
    rng: random.Random,
    now: datetime,
    folder: Path | None,
) -> None:
    """Do one step of the plan's matter, on the day its data says, by one of the role's two holders."""
    village = plan.village
    tasks = _open(session, instance_id)
    task = next((t for t in tasks if t.step_id == step_name), None)
    if task is None:
        raise RuntimeError(f"step {step_name} not open (open: {[t.step_id for t in tasks]})")
    before = clock.clock.now()
    at = before + timedelta(hours=rng.randint(3, 30))
    latest = max(_dates(data, []), default=None)
    if latest is not None:  # done on the day of the latest date it reports (a posting's last day…)
        at = max(at, datetime.combine(latest, datetime.min.time(), CST) + timedelta(hours=rng.randint(15, 18)))
    if task.due_at is not None:  # within the step's time limit
        at = min(at, max(before + timedelta(hours=1), as_utc(task.due_at) - timedelta(hours=2)))
    clock.clock.set(min(at, now - timedelta(minutes=5)))
    turns[task.role] = turns.get(task.role, rng.randint(0, 1)) + 1
    doer = holder(task.role, village, second=turns[task.role] % 2 == 0)
    if plan.force == step_name:
        reason = "村监委会成员外出，镇三资中心决定先行办理"
        api.force(session, task.id, holder("town_agency", village), reason, data)
        return
    api.complete(session, task.id, doer, data, _attachments(session, task, doer, folder), plan.waive.get(step_name))


def loaded_step_role(session: Session, key: str, step: str) -> str:
    from engine.persistence.models import DefinitionVersion

    row = session.scalars(
        select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version.desc())
    ).first()
    return loaded(row).step(step).role


def _payment(session: Session, instance_id: int, village: str, at: datetime, fen: int, payee: str) -> None:
    item = evidence.EvidenceInput(kind="payment", at=at, amount_fen=fen, payee=payee, reference=f"PL{instance_id}")
    evidence.record(session, instance_id, item, holder("bookkeeper", village))


def _reports(session: Session, now: datetime, rng: random.Random, size: str) -> int:
    """Villagers' reports by 码上举报, a few a month, the latest ones not yet registered."""
    texts = [
        ("村口路灯坏了两个月没人修", "村口主路"),
        ("鱼塘承包费收了没有公布", "村东鱼塘"),
        ("低保名单里有开小车的人家", "三组"),
        ("村道硬化用料偷工减料，路面已开裂", "村东头新修的村道"),
        ("村委会门口的公开栏很久没有更新", "村委会"),
        ("工程验收时没有通知村民代表", "文化礼堂工地"),
    ]
    count = 0
    for index in range(len(texts) if size == "full" else 2):
        what, where = texts[index]
        clock.clock.set(now - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8)))
        report = reports.Report(what=what, where=where, phone="", anonymous=True, about="cadres")
        result = reports.submit(session, VILLAGES[index % 4], report, f"192.0.2.{index + 10}")
        count += 1 if result.receipt else 0
    return count


def _handle(session: Session, now: datetime, rng: random.Random) -> dict[str, int]:
    """Handle some of the warnings as supervisors do: acknowledged, rectified by their owner and accepted,
    or closed; the newest stay open."""
    done: dict[str, int] = {}
    rows = session.scalars(
        select(Violation)
        .where(Violation.status.in_((ViolationStatus.OPEN, ViolationStatus.ESCALATED)))
        .order_by(Violation.id)
    ).all()
    supervisors = {
        Level.VILLAGE: "supervisory_member",
        Level.TOWN: "town_discipline",
        Level.COUNTY: "county_discipline",
    }
    for index, violation in enumerate(rows):
        village = session.get(OrgUnit, violation.village_id).code
        plan = index % 4
        if plan == 3:
            continue
        supervisor = holder(supervisors.get(violation.level, "town_discipline"), village)
        when = max(as_utc(violation.detected_at), now - timedelta(days=30))
        clock.clock.set(min(when + timedelta(days=rng.randint(1, 5)), now))
        try:
            with session.begin_nested():
                if plan == 0:
                    handling.handle(session, violation.id, "ack", supervisor, note="已收到预警，正在核实")
                    done["acknowledged"] = done.get("acknowledged", 0) + 1
                elif plan == 1:
                    owner = violation.owner_user or holder(violation.owner_role or "committee_chair", village)
                    handling.handle(session, violation.id, "rectify", owner, note="已按要求整改，补齐审批手续")
                    clock.clock.advance(timedelta(days=2))
                    handling.handle(session, violation.id, "accept", supervisor, note="整改到位，予以销号")
                    done["rectified"] = done.get("rectified", 0) + 1
                else:
                    handling.handle(session, violation.id, "close", supervisor, note="经核实已处理，约谈相关人员")
                    done["closed"] = done.get("closed", 0) + 1
        except PowerlistError:
            done["not handled"] = done.get("not handled", 0) + 1
    return done


def load_matters(
    engine: Engine, size: str = "full", now: datetime | None = None, folder: Path | None = None
) -> MatterReport:
    """A year of demo matters in the demo villages, once: lawful ones of every shipped flow, each kind of
    violation, some warnings handled, villagers' reports. A database that already holds matters in the
    demo villages is left as it is. ``folder``: where the sample files go (the instance's by default)."""
    from engine.persistence.db import make_sessionmaker
    from engine.supervision.sweep import sweep
    began = time.monotonic()
    report = MatterReport()
    sessions = make_sessionmaker(engine)
    real = clock.clock.now() if now is None else now
    with sessions() as session:
        existing = demo_matters_loaded(session)
    if existing:
        report.already = True
        report.matters = existing
        report.violations = _violation_counts(sessions)
        return report
    rng = random.Random(2026)
    twisted: dict[int, Plan] = {}
    restore = clock.clock._fixed
    try:
        for plan in plans(real, size):
            try:
                try:
                    instance_id = run_plan(sessions, plan, rng, real, folder=folder)
                except PowerlistError:  # a date moved onto a holiday or across a month: as the example has it
                    instance_id = run_plan(sessions, plan, rng, real, moved=False, folder=folder)
                with sessions() as session, session.begin():
                    if plan.twist == "payment_before_approval":
                        at = clock.clock.advance(timedelta(hours=5))
                        _payment(session, instance_id, plan.village, at, 80_000, "某五金店")
                twisted[instance_id] = plan
            except PowerlistError as exc:
                report.failed.append(f"{plan.key}/{plan.path.name} in {plan.village} ({plan.twist}): {exc}")
            except RuntimeError as exc:
                report.failed.append(f"{plan.key}/{plan.path.name} in {plan.village} ({plan.twist}): {exc}")
        with sessions() as session, session.begin():
            report.complaints = _reports(session, real, rng, size)
        for area in (demo_subsidies, demo_wallet, demo_disclosures):  # drawn from the matters, in this order
            with sessions() as session, session.begin():
                area.load(session, real, rng, size)
        clock.clock.set(real)
        sweep(engine, real)
        with sessions() as session, session.begin():
            report.handled = _handle(session, real, rng)
    finally:
        clock.clock.set(restore)
    with sessions() as session:
        rows = session.execute(select(Matter.status, func.count()).group_by(Matter.status)).all()
    counts = dict(rows)
    report.matters = sum(counts.values())
    report.completed = counts.get(MatterStatus.COMPLETED, 0)
    report.open = report.matters - report.completed
    report.violations = _violation_counts(sessions)
    report.seconds = time.monotonic() - began
    return report


def _violation_counts(sessions) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(select(Violation.code, func.count()).group_by(Violation.code)).all())
