"""A staff import in a real browser, on the demo organisation: Tom Becker (admin) uploads an
HR export of a shape no other test uses, maps the columns the suggestion missed and the job
titles and departments, previews, applies and finds the import in the history; the same
file uploaded again previews nothing to create or update and changes nothing.

The import adds people, so it runs on a live server of its own (built as the shared one):
the other browser tests keep seeing the demo organisation as built.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.org.models import OrgUnit, Person, RoleAssignment
from app.staff_import.models import BatchStatus, ImportBatch
from tests.browser.conftest import USERS, LiveSite, open_browsing, serve_demo

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = [
    "Staff Ref",
    "Surname",
    "Given Name",
    "Business Unit",
    "Position Title",
    "Reports To (Staff Ref)",
    "Work Mail",
    "Employment State",
    "Start Date",
]
#: Suggested from the names: Surname, Given Name, Business Unit, Position Title. The admin
#: picks the rest in the browser.
SUGGESTED = {
    "Last name": "Surname",
    "First name": "Given Name",
    "Org unit (department)": "Business Unit",
    "Job title (role)": "Position Title",
}
CHOSEN = {
    "Employee number": "Staff Ref",
    "Line manager's employee number": "Reports To (Staff Ref)",
    "Email": "Work Mail",
    "Employment status": "Employment State",
}


@pytest.fixture(scope="module")
def own_site(tmp_path_factory):
    """The demo organisation for this module only: the test changes its data."""
    with serve_demo(tmp_path_factory.mktemp("import-walkthrough"), "import-site") as site:
        yield site


def hr_export(manager_number: str) -> bytes:
    """An XLSX as an HR system would export it: a real date column we do not use, one
    department that exists ("Data & Insight"), one that does not, a job title that matches a
    catalogue role by name, two that do not, a leaver and someone on leave."""
    rows = [
        (
            "SR-2001",
            "Varga",
            "Ilona",
            "Harbour Data Lab",
            "Lab Lead",
            manager_number,
            "ilona.varga@harbourside.example",
            "Active",
            date(2021, 3, 1),
        ),
        (
            "SR-2002",
            "Wexford",
            "Cian",
            "Harbour Data Lab",
            "Insight Wrangler",
            "SR-2001",
            "cian.wexford@harbourside.example",
            "Active",
            date(2022, 9, 12),
        ),
        (
            "SR-2003",
            "Yilmaz",
            "Deniz",
            "Data & Insight",
            "PMO Analyst",
            "SR-2001",
            "deniz.yilmaz@harbourside.example",
            "On Leave",
            date(2023, 1, 9),
        ),
        (
            "SR-2004",
            "Zeller",
            "Mara",
            "Harbour Data Lab",
            "Insight Wrangler",
            "SR-2001",
            "mara.zeller@harbourside.example",
            "Leaver",
            date(2020, 6, 1),
        ),
    ]
    book = Workbook()
    sheet = book.active
    sheet.title = "Staff"
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def snapshot(site: LiveSite) -> dict:
    with site.app.app_context():
        people = db.session.execute(
            select(
                Person.employee_number,
                Person.first_name,
                Person.last_name,
                Person.email,
                Person.job_title,
                Person.org_unit_id,
                Person.line_manager_id,
                Person.active,
                Person.updated_at,
            ).order_by(Person.id)
        ).all()
        out = {
            "people": [tuple(p) for p in people],
            "units": db.session.scalar(select(func.count()).select_from(OrgUnit)),
            "assignments": db.session.scalar(select(func.count()).select_from(RoleAssignment)),
        }
        db.session.remove()
    return out


def employee_number_of(site: LiveSite, email: str) -> str:
    with site.app.app_context():
        number = db.session.scalar(select(Person.employee_number).where(Person.email == email))
        db.session.remove()
    return number


def upload(browsing, data: bytes) -> None:
    page = browsing.page
    page.get_by_role("button", name="Administration").click()
    page.locator(".dropdown-menu").get_by_role("link", name="Staff import").click()
    page.wait_for_url(re.compile(r"/admin/imports$"))
    page.get_by_label("HR export").set_input_files(
        {"name": "harbour-hr-export.xlsx", "mimeType": XLSX, "buffer": data}
    )
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(re.compile(r"/admin/imports/\d+/mapping$"))


def selected(page, label: str) -> str:
    return page.get_by_label(label, exact=True).input_value()


def count_of(page, testid: str) -> int:
    return int(page.get_by_test_id(testid).text_content().replace(",", "").strip())


def test_admin_imports_an_unseen_hr_export_and_reimporting_changes_nothing(chromium, own_site):
    admin = USERS["admin"]
    data = hr_export(employee_number_of(own_site, admin.email))
    context, browsing = open_browsing(chromium, own_site)
    page = browsing.page
    try:
        browsing.log_in(admin)
        upload(browsing, data)
        mapping_url = page.url
        assert page.get_by_test_id("saved-mapping-note").count() == 0

        # The suggestion found four columns; the admin picks the four it could not know.
        for label, header in SUGGESTED.items():
            assert selected(page, label) == header, label
        for label, header in CHOSEN.items():
            assert selected(page, label) == "", label
            page.get_by_label(label, exact=True).select_option(header)
        # Values: the department and the job title that exist are recognised by name; the
        # new department is to be created; the admin maps one title and leaves one.
        assert selected(page, "Data & Insight") == "DT-DAT"
        assert selected(page, "Harbour Data Lab") == "__create__"
        # The new unit goes under the top of the tree unless the admin chooses: here, under
        # the department that holds the data people.
        goes_under = "New unit “Harbour Data Lab” goes under"
        assert selected(page, goes_under) == "HG"
        page.get_by_label(goes_under, exact=True).select_option("DT-DAT")
        assert selected(page, "PMO Analyst") == "R03"
        assert selected(page, "Lab Lead") == ""
        page.get_by_label("Insight Wrangler", exact=True).select_option(
            label="Portfolio Analyst (P04)"
        )
        page.get_by_role("button", name="Save mapping and preview").click()
        # A status column was chosen: its values come next, each with its row count and a
        # suggested meaning; the admin makes "On Leave" explicit and saves again.
        page.wait_for_url(re.compile(r"/admin/imports/\d+/mapping$"))
        statuses = page.get_by_test_id("status-values")
        assert selected(statuses, "Active (2 rows)") == "active"
        assert selected(statuses, "Leaver (1 row)") == "leaver"
        assert selected(statuses, "On Leave (1 row)") == "active"
        statuses.get_by_label("On Leave (1 row)", exact=True).select_option(label="Active")
        browsing.screenshot("import-mapping")
        page.get_by_role("button", name="Save mapping and preview").click()
        page.wait_for_url(re.compile(r"/admin/imports/\d+/preview$"))
        preview_url = page.url
        assert count_of(page, "count-leavers") == 1  # Mara Zeller, created inactive

        assert count_of(page, "count-create") == 4
        assert count_of(page, "count-update") == 0
        assert count_of(page, "count-error-rows") == 0
        assert page.get_by_test_id("count-deactivate").count() == 0  # not a full sync
        assert " ".join(page.get_by_test_id("new-units").text_content().split()) == (
            "Harbour Data Lab — under Data & Insight"
        )
        assert page.get_by_test_id("issues-table").count() == 0
        details = page.get_by_test_id("changes-table").locator("tbody tr")
        zeller = " ".join(details.filter(has_text="Mara Zeller").text_content().split())
        assert "Org unit: Harbour Data Lab (new)" in zeller
        assert "Role: Portfolio Analyst" in zeller
        assert "Starts: inactive (a leaver)" in zeller
        browsing.screenshot("import-preview")
        browsing.watch.assert_clean()

        # The same two pages on a phone: usable, nothing wider than the screen.
        phone_context, phone = open_browsing(chromium, own_site, "phone")
        try:
            phone.log_in(admin)
            for url, name in ((mapping_url, "import-mapping"), (preview_url, "import-preview")):
                phone.page.goto(url)
                assert phone.horizontal_overflow() == 0, name
                phone.screenshot(name)
            phone.watch.assert_clean()
        finally:
            phone_context.close()

        page.get_by_role("button", name="Apply import").click()
        page.wait_for_url(re.compile(r"/admin/imports/\d+$"))
        assert (
            "Import applied: 4 created, 0 updated, 0 unchanged, 0 deactivated."
            in page.get_by_role("alert").text_content()
        )
        assert page.get_by_test_id("batch-status").text_content().strip() == "Applied"
        browsing.screenshot("import-detail")

        page.get_by_role("link", name="Back to the import history").click()
        history = page.get_by_test_id("import-history")
        first = history.locator("tbody tr").first
        assert "harbour-hr-export.xlsx" in first.text_content()
        assert "Applied" in first.text_content()
        assert admin.name in first.text_content()

        with own_site.app.app_context():
            found = {
                p.employee_number: p
                for p in db.session.scalars(
                    select(Person).where(Person.employee_number.like("SR-%"))
                )
            }
            assert found["SR-2002"].line_manager_id == found["SR-2001"].id
            assert found["SR-2001"].line_manager.email == admin.email
            assert found["SR-2001"].org_unit.name == "Harbour Data Lab"
            assert found["SR-2001"].org_unit.parent.code == "DT-DAT"
            assert found["SR-2003"].org_unit.code == "DT-DAT" and found["SR-2003"].active
            assert not found["SR-2004"].active
            roles = {
                (a.person.employee_number, a.role.code)
                for a in db.session.scalars(
                    select(RoleAssignment).join(Person).where(Person.employee_number.like("SR-%"))
                )
            }
            assert roles == {("SR-2002", "P04"), ("SR-2003", "R03"), ("SR-2004", "P04")}
            db.session.remove()
        before = snapshot(own_site)

        # The same file again: the saved mapping is reused and nothing would change.
        upload(browsing, data)
        assert page.get_by_test_id("saved-mapping-note").is_visible()
        for label, header in {**SUGGESTED, **CHOSEN}.items():
            assert selected(page, label) == header, label
        assert selected(page, "Harbour Data Lab") != "__create__"  # the unit made last time
        assert selected(page, "Insight Wrangler") == "P04"
        assert selected(page, "Leaver (1 row)") == "leaver"
        browsing.screenshot("import-mapping-again")
        page.get_by_role("button", name="Save mapping and preview").click()
        page.wait_for_url(re.compile(r"/admin/imports/\d+/preview$"))
        assert count_of(page, "count-create") == 0
        assert count_of(page, "count-update") == 0
        assert count_of(page, "count-unchanged") == 4
        assert count_of(page, "count-leavers") == 0  # already inactive: nothing to do
        assert page.get_by_test_id("nothing-to-change").is_visible()
        assert page.get_by_test_id("new-units").count() == 0
        page.get_by_role("button", name="Apply import").click()
        page.wait_for_url(re.compile(r"/admin/imports/\d+$"))
        assert "0 created, 0 updated, 4 unchanged" in page.get_by_role("alert").text_content()
        assert snapshot(own_site) == before

        with own_site.app.app_context():
            batches = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()
            assert [b.status for b in batches] == [BatchStatus.APPLIED, BatchStatus.APPLIED]
            assert batches[0].sha256 == batches[1].sha256
            db.session.remove()
        browsing.watch.assert_clean()
    finally:
        context.close()
