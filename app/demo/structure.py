"""The shape of Harbourside Group, the demo organisation: its directorates and departments,
the roles each kind of department holds, and its P3O offices. Data only."""

from __future__ import annotations

from datetime import date

from app.accounts.models import Permission

#: (code, directorate, [(code, department, kind)]) — kind steers the roles people hold.
STRUCTURE = [
    (
        "ST",
        "Strategy & Transformation",
        [
            ("ST-EPO", "Enterprise Portfolio Office", "pmo"),
            ("ST-PGD", "Programme Delivery", "delivery"),
            ("ST-BCH", "Business Change", "delivery"),
        ],
    ),
    (
        "DT",
        "Digital & Technology",
        [
            ("DT-DDL", "Digital Delivery", "delivery"),
            ("DT-INF", "Infrastructure & Cloud", "business"),
            ("DT-DAT", "Data & Insight", "business"),
        ],
    ),
    (
        "OP",
        "Operations",
        [
            ("OP-CUS", "Customer Operations", "business"),
            ("OP-EST", "Estates & Facilities", "business"),
            ("OP-SUP", "Supply Chain", "business"),
        ],
    ),
    (
        "FC",
        "Finance & Commercial",
        [
            ("FC-FIN", "Finance", "business"),
            ("FC-PRO", "Procurement", "business"),
            ("FC-CPM", "Commercial Projects Office", "pmo"),
        ],
    ),
    (
        "PC",
        "People & Corporate Services",
        [
            ("PC-HRL", "HR & Learning", "learning"),
            ("PC-LEG", "Legal & Governance", "business"),
            ("PC-WPL", "Workplace Services", "business"),
        ],
    ),
]

TEAM_AREAS = [
    "Planning",
    "Controls",
    "Reporting",
    "Delivery",
    "Assurance",
    "North",
    "South",
    "Central",
    "Improvement",
    "Service",
    "Change",
    "Performance",
]

#: Roles held in each kind of department: (team lead role, [(member role, weight)]).
#: Team kind -> (the lead's role, [(member role, weight), …]).
ROLE_MIX: dict[str, tuple[str, list[tuple[str | None, int]]]] = {
    "pmo": (
        "R02",
        [("R04", 5), ("R03", 4), ("R07", 3), ("P04", 2), ("P06", 3), ("R09", 1), ("P05", 1)],
    ),
    "delivery": ("R06", [("R05", 6), ("R07", 3), ("P05", 1), ("P06", 2), (None, 2)]),
    "learning": ("R10", [("R10", 4), ("R07", 1), (None, 4)]),
    "business": ("R05", [("R05", 2), ("R07", 3), (None, 7)]),
}

#: The next step for someone in a role, used for target (aspired) roles.
CAREER_STEP = {
    "R07": "R04",
    "R04": "R03",
    "R03": "R02",
    "R02": "R01",
    "R05": "R06",
    "R06": "R08",
    "P06": "P05",
    "P04": "R08",
    "R10": "P07",
    "P05": "R02",
}

#: The fixed demo users: (permissions, first, last, job title, where they sit).
DEMO_USERS = [
    ((Permission.LEARNER,), "Priya", "Shah", "PMO Co-ordinator", "epo-member"),
    (
        (Permission.LEARNER, Permission.MANAGER),
        "Daniel",
        "Okafor",
        "Head of Enterprise PMO",
        "epo-head",
    ),
    (
        (Permission.LEARNER, Permission.TRAINER),
        "Grace",
        "Lindqvist",
        "Project Capability Lead",
        "learning-member",
    ),
    (
        (Permission.LEARNER, Permission.ADMIN),
        "Tom",
        "Becker",
        "PMO Systems Administrator",
        "data-member",
    ),
]

#: The day the offices' dates below are written for. A demo built on another day moves the
#: temporary offices' dates by as many whole months (organisation.office_dates), so that
#: whenever it is built the programme offices are as far into their lives, the project
#: office closes within the year and one is already closed: the same P3O to report on.
OFFICES_AS_AT = date(2025, 12, 31)
#: (code, name, level, permanence, CoE, hub code, department code, opened, closes, active)
OFFICES = [
    (
        "GPO",
        "Group Portfolio Office",
        "portfolio",
        "permanent",
        False,
        None,
        "ST-EPO",
        date(2019, 4, 1),
        None,
        True,
    ),
    (
        "COE",
        "Delivery Centre of Excellence",
        "portfolio",
        "permanent",
        True,
        "GPO",
        "ST-EPO",
        date(2020, 9, 1),
        None,
        True,
    ),
    (
        "DTH",
        "Digital Portfolio Hub",
        "programme",
        "permanent",
        False,
        "GPO",
        "DT-DDL",
        date(2021, 1, 4),
        None,
        True,
    ),
    (
        "OPH",
        "Operations Portfolio Hub",
        "programme",
        "permanent",
        False,
        "GPO",
        "OP-CUS",
        date(2022, 4, 1),
        None,
        True,
    ),
    (
        "CPP",
        "Customer Portal Programme Office",
        "programme",
        "temporary",
        False,
        "DTH",
        "ST-PGD",
        date(2025, 4, 1),
        date(2027, 9, 30),
        True,
    ),
    (
        "NZE",
        "Net Zero Estates Programme Office",
        "programme",
        "temporary",
        False,
        "OPH",
        "OP-EST",
        date(2024, 10, 1),
        date(2028, 3, 31),
        True,
    ),
    (
        "FSR",
        "Finance Systems Renewal Project Office",
        "project",
        "temporary",
        False,
        "GPO",
        "FC-CPM",
        date(2025, 6, 2),
        date(2026, 12, 18),
        True,
    ),
    (
        "DCX",
        "Data Centre Exit Project Office",
        "project",
        "temporary",
        False,
        "DTH",
        "DT-INF",
        date(2024, 2, 5),
        date(2026, 6, 30),
        True,
    ),
    (
        "CCM",
        "Contact Centre Migration Project Office",
        "project",
        "temporary",
        False,
        "OPH",
        "OP-CUS",
        date(2023, 5, 1),
        date(2025, 3, 28),
        False,
    ),
]

#: Which office a department's role-holders work within.
DEPARTMENT_OFFICE = {
    "ST-EPO": "GPO",
    "ST-PGD": "CPP",
    "ST-BCH": "CPP",
    "DT-DDL": "DTH",
    "DT-INF": "DCX",
    "OP-EST": "NZE",
    "OP-CUS": "OPH",
    "FC-CPM": "FSR",
    "PC-HRL": "COE",
}
