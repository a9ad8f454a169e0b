"""The navigation bar, derived from the same route rules that guard the pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, request, url_for

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
    href: str = ""


def navigation_for(user, current_endpoint: str | None) -> dict[str, list[NavEntry]]:
    """{section: [entries]} for the items ``user`` may reach; "" is the main bar.

    The route rules and the URLs of these pages never change while the application runs,
    so the items a set of permissions reaches, with their URLs, are worked out once per
    application, set of permissions and script root; each request only marks the current
    page (it was ~15% of a small page's time)."""
    if not user.is_authenticated:
        return {}
    out: dict[str, list[NavEntry]] = {}
    for section, label, endpoint, href in _reachable(frozenset(user.permissions)):
        out.setdefault(section, []).append(
            NavEntry(label, endpoint, endpoint == current_endpoint, href)
        )
    return out


def _reachable(permissions: frozenset[str]) -> tuple[tuple[str, str, str, str], ...]:
    """(section, label, endpoint, URL) of each item a user holding ``permissions`` may
    reach, in display order; kept on the application (its rules and routes are fixed)."""
    cache: dict = current_app.extensions.setdefault("pmo_navigation", {})
    key = (permissions, request.script_root if has_request_context() else "")
    found = cache.get(key)
    if found is None:
        user = _Holder(permissions)
        found = tuple(
            (item.section, item.label, item.endpoint, url_for(item.endpoint))
            for item in ITEMS
            if may_reach(user, item.endpoint)
        )
        cache[key] = found
    return found


@dataclass(frozen=True)
class _Holder:
    """A signed-in user holding ``permissions``: all ``may_reach`` looks at."""

    permissions: frozenset[str]
    is_authenticated: bool = True
