"""The navigation bar, derived from the same route rules that guard the pages."""

from __future__ import annotations

from dataclasses import dataclass

from app.access import may_reach


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    section: str = ""  # "" for the main bar, else the name of a drop-down


#: In display order. An item shows only to users whose permissions reach its endpoint.
ITEMS = (
    NavItem("Home", "org.home"),
    NavItem("My capability", "capability.mine"),
    NavItem("My learning", "learning.my_learning"),
    NavItem("My team", "org.team"),
    NavItem("Validations", "capability.queue"),
    NavItem("Competency framework", "framework.browse", "Framework"),
    NavItem("Role catalogue", "org.role_catalogue", "Framework"),
    NavItem("Capability heatmap", "reports.heatmap", "Reports"),
    NavItem("Role readiness", "reports.readiness", "Reports"),
    NavItem("Bench strength", "reports.bench", "Reports"),
    NavItem("P3O function coverage", "reports.coverage", "Reports"),
    NavItem("Learning paths", "learning.catalogue", "Learning"),
    NavItem("Sessions", "learning.sessions", "Learning"),
    NavItem("My certificates", "learning.certificates_mine", "Learning"),
    NavItem("External certificates and CPD", "learning.external_mine", "Learning"),
    NavItem("My assessments", "assessment.mine", "Learning"),
    NavItem("Team learning", "learning.team", "Learning"),
    NavItem("Assessment results", "assessment.results", "Learning"),
    NavItem("Enrol people", "learning.enrol", "Learning"),
    NavItem("Path authoring", "learning.authoring_paths", "Learning"),
    NavItem("Question banks", "assessment.authoring_banks", "Learning"),
    NavItem("Assessment builder", "assessment.authoring_assessments", "Learning"),
    NavItem("Item statistics", "assessment.statistics_assessments", "Learning"),
    NavItem("Results by competency", "assessment.statistics_competencies", "Learning"),
    NavItem("Certificates to verify", "learning.external_queue", "Learning"),
    NavItem("Certificates issued", "learning.certificates_issued", "Learning"),
    NavItem("People", "org.people", "Administration"),
    NavItem("Org units", "org.org_units", "Administration"),
    NavItem("Offices", "org.offices", "Administration"),
    NavItem("Roles", "org.roles", "Administration"),
    NavItem("Accounts", "accounts.accounts_list", "Administration"),
    NavItem("Staff import", "staff_import.history", "Administration"),
    NavItem("Audit trail", "audit.events", "Administration"),
)


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    active: bool


def navigation_for(user, current_endpoint: str | None) -> dict[str, list[NavEntry]]:
    """{section: [entries]} for the items ``user`` may reach; "" is the main bar."""
    if not user.is_authenticated:
        return {}
    out: dict[str, list[NavEntry]] = {}
    for item in ITEMS:
        if may_reach(user, item.endpoint):
            out.setdefault(item.section, []).append(
                NavEntry(item.label, item.endpoint, item.endpoint == current_endpoint)
            )
    return out
