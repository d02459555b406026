"""``powerlist catalog``: the power list from processes/ and, once the database is set up, its versions."""

from __future__ import annotations

from pathlib import Path

from engine.catalog.catalog import shipped_file
from tests.conftest import MINI

NUMBERS = ["A01", "A02", "A03", "B01", "B02", "C01", "D01", "D02", "F01", "F02", "F03"]


def test_catalog_before_and_after_the_database_is_set_up(cli, tmp_path: Path) -> None:
    before = cli("catalog", "--json", check=True).json()
    assert [item["number"] for item in before] == NUMBERS
    assert all(item["versions"] is None and not item["problems"] for item in before)
    by_key = {item["key"]: item for item in before}
    assert by_key["four_deliberations"]["category_label"] == "小决策"
    assert by_key["fund_payment"]["category_label"] == "小资金·资产·资源"
    assert by_key["small_works"]["category_label"] == "小项目"
    assert by_key["complaint"]["category_label"] == "小职责"
    assert by_key["seal_use"]["category_label"] == "最多跑一次"
    # as many steps as the shipped file has user tasks (people add steps: no fixed count here)
    works = shipped_file("small_works").read_text(encoding="utf-8")
    assert by_key["small_works"]["steps"] == works.count("<bpmn:userTask ")
    assert not list(tmp_path.glob("*.sqlite")), "listing must not create a database"

    text = cli("catalog", check=True)
    assert "四议两公开重大事项决策" in text.out and "小资金·资产·资源" in text.out
    assert "database not set up" in text.err

    cli("init", check=True)
    cli("demo", "--no-matters", check=True)
    cli("deploy", str(MINI), "--as", "admin", check=True)
    after = cli("catalog", "--json", check=True).json()
    by_key = {item["key"]: item for item in after}
    assert [v["version"] for v in by_key["homestead"]["versions"]] == [1]
    assert by_key["homestead"]["versions"][0]["steps"] == 9
    assert by_key["mini_decision"]["file"] is None and len(by_key["mini_decision"]["versions"]) == 1
    assert [item["number"] for item in after if item["key"] != "mini_decision"] == NUMBERS

    listed = cli("catalog", check=True).out.splitlines()
    homestead = next(line for line in listed if "homestead" in line)
    assert homestead.split()[:5] == ["F01", "最多跑一次", "农村宅基地申请审批", "v1", "9步"]
