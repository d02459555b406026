"""补贴去哪了: subsidy rosters (补贴名册) by village, kind and period, and a household's own lookup.

A roster comes from a spreadsheet the town's civil-affairs office keeps (:func:`import_roster`, the same
command for the staff page and ``powerlist subsidies import``) or from a subsidy flow that ends approved
(the ``flows`` of ``rules/defaults/subsidies.yaml``, registered as a step hook). Every row is checked
(name, resident ID with its GB 11643 check character, amount in yuan with at most two decimals, date,
household code); every problem is reported at once with its line and column, and nothing is written
while any is left (all or nothing). A second roster for the same village, kind and period is refused
unless it replaces the first (the first is kept, marked replaced). A flow adds a household to a roster
once: a second approval for a household already on it is skipped and written to the audit log.

What is kept: the recipient's name as typed (shown only through :func:`engine.public.masking.mask_name`),
the ID's region code with the rest as ``*``, the amount, people, payment date, group and household code,
and for the household's own lookup an HMAC-SHA256 under the household's random salt of its code and the
last four characters of the head's ID. Neither the full ID number nor any bank account is stored.

Who: ``subsidy.import`` and ``subsidy.withdraw`` belong to the ``keeping_rosters`` role set within reach
of the village; ``subsidy.read`` (the staff list, with who imported what) and ``subsidy.households``
(the door-plate codes) to those roles and the village's ``disclosing`` cadres; everyone else who reads
the village's matters is refused, and the rest are refused too (a village is public, nothing to hide).

The package's modules by job: :mod:`.kinds` (the rule file: kinds, the flows that feed rosters, periods),
:mod:`.access` (who may), :mod:`.rows` (a spreadsheet's rows checked), :mod:`.households` (door-plate
codes and the lookup digest), :mod:`.importing` (import, preview, withdraw), :mod:`.from_flows` (the step
hook), :mod:`.rosters` (what staff and villagers see) and :mod:`.household_lookup`.
"""

from engine.public.subsidies.access import villages_for
from engine.public.subsidies.from_flows import add_entry
from engine.public.subsidies.household_lookup import Lookup, Receipt, lookup
from engine.public.subsidies.households import digest
from engine.public.subsidies.importing import Preview, import_roster, preview, preview_of, withdraw
from engine.public.subsidies.kinds import FlowSource, Kind, Rules, check_period, kind_of, period_label, period_of, rules
from engine.public.subsidies.rosters import (
    FLOW,
    IMPORT,
    PUBLISHED,
    REPLACED,
    WITHDRAWN,
    HouseholdPlate,
    PublicEntry,
    PublicRoster,
    RosterPage,
    StaffRoster,
    VillageRosters,
    households_of,
    public_roster,
    public_rosters,
    rosters_for_staff,
    staff_roster,
    village_section,
)
from engine.public.subsidies.rows import Problem, RosterInvalid, Row, amount_fen, check_rows, id_problem, parse_day

__all__ = [
    "FLOW",
    "IMPORT",
    "PUBLISHED",
    "REPLACED",
    "WITHDRAWN",
    "FlowSource",
    "HouseholdPlate",
    "Kind",
    "Lookup",
    "Preview",
    "Problem",
    "PublicEntry",
    "PublicRoster",
    "Receipt",
    "RosterInvalid",
    "RosterPage",
    "Row",
    "Rules",
    "StaffRoster",
    "VillageRosters",
    "add_entry",
    "amount_fen",
    "check_period",
    "check_rows",
    "digest",
    "households_of",
    "id_problem",
    "import_roster",
    "kind_of",
    "lookup",
    "parse_day",
    "period_label",
    "period_of",
    "preview",
    "preview_of",
    "public_roster",
    "public_rosters",
    "rosters_for_staff",
    "rules",
    "staff_roster",
    "village_section",
    "villages_for",
    "withdraw",
]
