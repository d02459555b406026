"""Counties as tenants: an administrator manages the users, tokens and flows of their own counties
only; flows are published to counties; the command line is the province-level operator."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import NotFound, PermissionDenied, PowerlistError
from tests.conftest import MINI, ROOT

QX_ADMIN = "admin"  # 清溪县 (QX), the demo county
BX_ADMIN = "bx.admin"  # 白溪县 (BX), the second county
BX_SECRETARY = "xikou.secretary"  # 溪口村 (BX0101)
BOTH = "liang.xian"  # a cadre in both counties
PASSWORD = "powerlist-demo"
FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"


def add_second_county(sessions) -> None:
    """白溪县 with one town, one village, its administrator, a village secretary and a cadre of both counties."""
    from engine.org.service import ensure_unit, ensure_user, get_unit, grant

    with sessions() as session, session.begin():
        county = ensure_unit(session, "BX", "白溪县", "county")
        town = ensure_unit(session, "BX01", "白溪镇", "town", county)
        ensure_unit(session, "BX0101", "溪口村", "village", town)
        for username, name, role, unit in (
            (BX_ADMIN, "白溪县管理员", "admin", "BX"),
            (BX_SECRETARY, "溪口村书记", "party_secretary", "BX0101"),
            (BOTH, "两县兼职", "cadre", "QX0101"),
            (BOTH, "两县兼职", "cadre", "BX0101"),
        ):
            grant(session, ensure_user(session, username, name, password=PASSWORD), role, get_unit(session, unit))


@pytest.fixture
def counties(demo_org):
    """The demo county with the test flow deployed by its administrator, and a second county."""
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, QX_ADMIN)
    add_second_county(demo_org)
    return demo_org


def changed_mini(tmp_path: Path, key: str = "mini_decision", words: str = "写明事由、金额和依据。") -> Path:
    """A copy of the test flow under ``key`` with one documentation text changed, and its forms."""
    folder = tmp_path / uuid.uuid4().hex
    shutil.copytree(MINI.parent / "forms", folder / "forms")
    path = folder / f"{key}.bpmn"
    text = MINI.read_text(encoding="utf-8").replace("写明事由和金额。", words)
    path.write_text(text.replace('id="mini_decision"', f'id="{key}"'), encoding="utf-8")
    return path


def roles_of(sessions, username: str) -> set[tuple[str, str]]:
    from engine.persistence.models import User

    with sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        return {(a.role, a.org_unit.code) for a in user.roles}


def versions_of(sessions, key: str) -> list[int]:
    from engine.persistence.models import DefinitionVersion

    with sessions() as session:
        return list(session.scalars(select(DefinitionVersion.version).where(DefinitionVersion.key == key)))


def published(sessions, key: str) -> set[str]:
    from engine.definitions import scope

    with sessions() as session:
        return set(scope.publications(session).get(key, []))


# --- users, roles and tokens -----------------------------------------------------------------


def test_an_admin_cannot_grant_a_role_to_another_countys_admin_nor_mint_their_token(counties):
    from engine.workspace import people, tokens

    with pytest.raises(NotFound), counties() as session, session.begin():
        people.grant_role(session, QX_ADMIN, BX_ADMIN, "cadre", "QX0101")
    assert roles_of(counties, BX_ADMIN) == {("admin", "BX")}

    with pytest.raises(NotFound), counties() as session, session.begin():
        tokens.create(session, BX_ADMIN, "冒用", QX_ADMIN)
    with pytest.raises(NotFound), counties() as session, session.begin():
        tokens.create(session, BX_SECRETARY, "冒用", QX_ADMIN)
    with counties() as session:
        assert tokens.listing(session, None) == []


def test_an_admin_manages_only_users_whose_every_role_is_in_their_counties(counties):
    from engine.workspace import people

    refused = [
        lambda s: people.grant_role(s, QX_ADMIN, BOTH, "bookkeeper", "QX0101"),
        lambda s: people.revoke_role(s, QX_ADMIN, BOTH, "cadre", "QX0101"),
        lambda s: people.set_active(s, QX_ADMIN, BOTH, False),
        lambda s: people.set_password(s, QX_ADMIN, BOTH, "chosen-by-another-county"),
        lambda s: people.revoke_role(s, QX_ADMIN, BX_ADMIN, "admin", "BX"),
        lambda s: people.grant_role(s, QX_ADMIN, "shangtang.cadre", "cadre", "BX0101"),
        lambda s: people.add_unit(s, QX_ADMIN, "BX02", "白溪二镇", "town", "BX"),
    ]
    for change in refused:
        with pytest.raises(PowerlistError) as caught, counties() as session, session.begin():
            change(session)
        assert isinstance(caught.value, NotFound | PermissionDenied), caught.value
    assert roles_of(counties, BOTH) == {("cadre", "QX0101"), ("cadre", "BX0101")}
    assert roles_of(counties, "shangtang.cadre") == {("cadre", "QX0101")}

    with counties() as session:
        listed = {u["username"]: u for u in people.users(session, QX_ADMIN)}
        assert BX_ADMIN not in listed and BX_SECRETARY not in listed
        assert listed[BOTH]["manageable"] is False and listed["shangtang.cadre"]["manageable"] is True
        assert {u["username"] for u in people.users(session, BX_ADMIN)} >= {BX_ADMIN, BX_SECRETARY, BOTH}

    # Within one's own county, and a user with no role yet: allowed.
    with counties() as session, session.begin():
        people.grant_role(session, QX_ADMIN, "shangtang.cadre", "bookkeeper", "QX0101")
        people.add_user(session, QX_ADMIN, "xin.ren", "新人", PASSWORD)
        people.grant_role(session, QX_ADMIN, "xin.ren", "cadre", "QX0102")
    with pytest.raises(NotFound), counties() as session, session.begin():
        people.grant_role(session, BX_ADMIN, "xin.ren", "cadre", "BX0101")  # now a user of 清溪县 only
    # The operator (no actor) manages everyone.
    with counties() as session, session.begin():
        people.revoke_role(session, None, BOTH, "cadre", "BX0101")
    with counties() as session, session.begin():
        people.grant_role(session, QX_ADMIN, BOTH, "bookkeeper", "QX0101")  # all of BOTH's roles are in QX now


def test_tokens_only_for_oneself_or_for_managed_users(counties):
    from engine.workspace import tokens

    with counties() as session, session.begin():
        tokens.create(session, BX_ADMIN, "白溪对接", None)
        tokens.create(session, BOTH, "两县对接", None)
        own = tokens.create(session, QX_ADMIN, "自己的", QX_ADMIN)
        tokens.create(session, "shangtang.cadre", "上塘对接", QX_ADMIN)
    assert own.startswith("plt_")
    with counties() as session:
        everything = tokens.listing(session, None)
        mine = {t["username"] for t in tokens.listing(session, QX_ADMIN)}
        theirs = {t["username"] for t in tokens.listing(session, BX_ADMIN)}
        assert {t["username"] for t in tokens.listing(session, QX_ADMIN, BX_ADMIN)} == set()
    assert {t["username"] for t in everything} == {BX_ADMIN, BOTH, QX_ADMIN, "shangtang.cadre"}
    assert mine == {QX_ADMIN, "shangtang.cadre"}
    assert theirs == {BX_ADMIN}
    bx_token = next(t["id"] for t in everything if t["username"] == BX_ADMIN)
    both_token = next(t["id"] for t in everything if t["username"] == BOTH)
    with pytest.raises(NotFound), counties() as session, session.begin():
        tokens.revoke(session, bx_token, QX_ADMIN)
    with pytest.raises(PermissionDenied), counties() as session, session.begin():
        tokens.revoke(session, both_token, QX_ADMIN)
    with pytest.raises(PermissionDenied), counties() as session, session.begin():
        tokens.create(session, BOTH, "冒用", QX_ADMIN)
    with counties() as session, session.begin():
        tokens.revoke(session, bx_token, BX_ADMIN)


# --- flows -----------------------------------------------------------------------------------


def test_a_flow_is_published_to_the_county_of_the_admin_who_deployed_it(counties):
    from engine.definitions import scope
    from engine.persistence.models import OrgUnit

    with counties() as session:
        qx = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "QX"))
        bx = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "BX"))
        assert scope.is_published(session, "mini_decision", qx)
        assert not scope.is_published(session, "mini_decision", bx)
        assert not scope.is_published(session, "no_such_flow", qx)


def test_another_countys_admin_neither_sees_nor_changes_a_flow(counties, tmp_path):
    from engine import api
    from engine.workspace import admin as flows_admin

    with counties() as session:
        assert [i["key"] for i in flows_admin.items(session, QX_ADMIN)] == ["mini_decision"]
        assert flows_admin.items(session, QX_ADMIN)[0]["counties"] == ["清溪县"]
        assert flows_admin.items(session, BX_ADMIN) == []
        with pytest.raises(NotFound):
            flows_admin.versions(session, "mini_decision", BX_ADMIN)
        with pytest.raises(NotFound):
            flows_admin.bpmn_of(session, "mini_decision", 1, BX_ADMIN)
        with pytest.raises(PermissionDenied):
            flows_admin.items(session, BX_SECRETARY)
    for change in (flows_admin.retire_version, flows_admin.reinstate_version):
        with pytest.raises(NotFound), counties() as session, session.begin():
            change(session, "mini_decision", 1, BX_ADMIN)

    with pytest.raises(PermissionDenied) as refused, counties() as session, session.begin():
        api.deploy_file(session, changed_mini(tmp_path), BX_ADMIN)
    assert "清溪县" in str(refused.value) and refused.value.code == "flow.other_county"
    with pytest.raises(PermissionDenied), counties() as session, session.begin():
        api.deploy_file(session, MINI, BX_ADMIN)  # the same content would still publish it to 白溪县
    assert versions_of(counties, "mini_decision") == [1]
    assert published(counties, "mini_decision") == {"QX"}

    with counties() as session, session.begin():
        result = api.deploy_file(session, changed_mini(tmp_path, "road_repair"), BX_ADMIN)
    assert (result.key, result.version, result.published) == ("road_repair", 1, ("BX",))
    assert published(counties, "road_repair") == {"BX"}
    with counties() as session:
        assert [i["key"] for i in flows_admin.items(session, BX_ADMIN)] == ["road_repair"]
        assert [i["key"] for i in flows_admin.items(session, QX_ADMIN)] == ["mini_decision"]
    with counties() as session, session.begin():
        flows_admin.retire_version(session, "mini_decision", 1, QX_ADMIN)
        flows_admin.reinstate_version(session, "mini_decision", 1, QX_ADMIN)
        api.deploy_file(session, changed_mini(tmp_path), QX_ADMIN)
    assert versions_of(counties, "mini_decision") == [1, 2]
    with pytest.raises(PermissionDenied), counties() as session, session.begin():
        api.deploy_file(session, changed_mini(tmp_path, "road_repair", "再改一次"), BX_SECRETARY)


def test_a_flow_shared_by_counties_is_changed_only_by_an_admin_of_every_one(counties, tmp_path):
    from engine import api
    from engine.definitions import deploy as definitions
    from engine.workspace import admin as flows_admin
    from engine.workspace import people

    with counties() as session, session.begin():
        result = api.deploy_file(session, FOUR, None, counties=["QX", "BX"])
        people.add_user(session, None, "province.admin", "两县管理员", PASSWORD)
        people.grant_role(session, None, "province.admin", "admin", "QX")
        people.grant_role(session, None, "province.admin", "admin", "BX")
    assert result.published == ("BX", "QX")
    assert published(counties, "four_deliberations") == {"QX", "BX"}
    with counties() as session:
        assert {i["key"] for i in flows_admin.items(session, BX_ADMIN)} == {"four_deliberations"}
        assert flows_admin.versions(session, "four_deliberations", QX_ADMIN)[0]["version"] == 1

    for admin in (QX_ADMIN, BX_ADMIN):
        with pytest.raises(PermissionDenied) as refused, counties() as session, session.begin():
            flows_admin.retire_version(session, "four_deliberations", 1, admin)
        assert refused.value.code == "flow.shared"
        with pytest.raises(PermissionDenied), counties() as session, session.begin():
            api.deploy_file(session, FOUR, admin)
    with counties() as session, session.begin():
        flows_admin.retire_version(session, "four_deliberations", 1, "province.admin")
        flows_admin.reinstate_version(session, "four_deliberations", 1, None)

    with pytest.raises(PermissionDenied), counties() as session, session.begin():
        definitions.unpublish(session, "four_deliberations", "BX", QX_ADMIN)
    with counties() as session, session.begin():
        definitions.unpublish(session, "four_deliberations", "BX", None)
    assert published(counties, "four_deliberations") == {"QX"}
    with counties() as session, session.begin():
        flows_admin.retire_version(session, "four_deliberations", 1, QX_ADMIN)
    with counties() as session, session.begin():
        definitions.publish(session, "mini_decision", ["BX"], None)
    assert published(counties, "mini_decision") == {"QX", "BX"}
    with pytest.raises(NotFound), counties() as session, session.begin():
        definitions.publish(session, "no_such_flow", ["BX"], None)
    with pytest.raises(PowerlistError, match="QX01"), counties() as session, session.begin():
        definitions.publish(session, "mini_decision", ["QX01"], None)


def test_the_operator_publishes_to_every_county_by_default(counties, tmp_path):
    from engine import api

    with counties() as session, session.begin():
        result = api.deploy_file(session, changed_mini(tmp_path, "road_repair"))
    assert result.published == ("BX", "QX")
    with counties() as session, session.begin():
        again = api.deploy_file(session, changed_mini(tmp_path, "road_repair"))
    assert (again.created, again.published) == (False, ())


# --- the migration ----------------------------------------------------------------------------


def test_the_migration_publishes_every_deployed_flow_to_every_county(db_url):
    from alembic import command
    from sqlalchemy import text

    from engine.persistence.db import make_engine
    from engine.persistence.migrate import alembic_config, upgrade

    engine = make_engine(db_url)
    try:
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with engine.begin() as connection:
            for number, (code, level, parent) in enumerate(
                [("QX", "county", None), ("BX", "county", None), ("QX01", "town", 1)], 1
            ):
                connection.execute(
                    text(
                        "INSERT INTO org_unit (id, code, name, level, parent_id, active) "
                        "VALUES (:id, :code, :code, :level, :parent, :active)"
                    ),
                    {"id": number, "code": code, "level": level, "parent": parent, "active": True},
                )
            for number, key in enumerate(["mini_decision", "mini_decision", "seal_use"], 1):
                connection.execute(
                    text(
                        "INSERT INTO definition_version (id, key, version, name, content_hash, bpmn_xml, forms, "
                        "spec_json, meta, deployed_at, deployed_by, retired) VALUES (:id, :key, :id, 'x', :hash, "
                        "'', '{}', '', '{}', CURRENT_TIMESTAMP, NULL, :retired)"
                    ),
                    {"id": number, "key": key, "hash": f"h{number}", "retired": False},
                )
        assert "0007_tenancy" in upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT p.key, u.code FROM flow_publication p JOIN org_unit u ON u.id = p.county_id "
                    "ORDER BY p.key, u.code"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("mini_decision", "BX"),
            ("mini_decision", "QX"),
            ("seal_use", "BX"),
            ("seal_use", "QX"),
        ]
    finally:
        engine.dispose()


# --- the command line -------------------------------------------------------------------------


def test_the_command_line_publishes_and_acts_as_the_named_admin(cli, tmp_path):
    cli("init", check=True)
    cli("demo", "--no-matters", check=True)
    cli("unit", "add", "BX", "白溪县", "--level", "county", check=True)
    cli("user", "add", BX_ADMIN, "--name", "白溪县管理员", "--password", PASSWORD, check=True)
    cli("user", "grant", BX_ADMIN, "admin", "BX", check=True)

    def counties_of(key: str) -> list[str]:
        rows = cli("definitions", "--json", check=True).json()
        return sorted({c for row in rows if row["key"] == key for c in row["counties"]})

    assert counties_of("four_deliberations") == ["QX"]  # the demo's flows are the demo county's
    refused = cli("deploy", str(FOUR), "--as", BX_ADMIN)
    assert refused.code == 1 and "清溪县" in refused.err
    changed = changed_mini(tmp_path, "road_repair")
    assert cli("deploy", str(changed), "--as", "shangtang.secretary").code == 1

    first = cli("deploy", str(changed), "--county", "BX", check=True)
    assert first.out.splitlines() == ["deployed road_repair v1", "published to BX"]
    assert counties_of("road_repair") == ["BX"]
    assert "[BX]" in next(line for line in cli("definitions", check=True).out.splitlines() if "road_repair" in line)
    assert cli("deploy", str(changed), "--as", "admin").code == 1

    assert cli("publish", "road_repair", "--county", "QX", check=True).out.strip() == "road_repair published to QX"
    assert counties_of("road_repair") == ["BX", "QX"]
    cli("unpublish", "road_repair", "--county", "BX", check=True)
    assert counties_of("road_repair") == ["QX"]
    assert cli("deploy", str(changed), "--as", "admin", check=True).out.strip() == "deployed road_repair v1 (unchanged)"
    assert cli("publish", "road_repair", "--county", "QX01").code == 1
    assert cli("publish", "no_such_flow", "--county", "QX").code == 1

    shared = cli("deploy", str(MINI), check=True)  # the operator: every county
    assert shared.out.splitlines() == ["deployed mini_decision v1", "published to BX, QX"]
    assert counties_of("mini_decision") == ["BX", "QX"]
