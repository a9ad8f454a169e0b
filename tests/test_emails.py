"""Work email addresses: an organisation's own directory names are accepted everywhere.

An Active Directory export gives ``jo.bloggs@corp.local``; a staging HR system ``.test``;
an intranet a single label. The person form, the account form and the staff import share
one rule (app/emails.py), so each accepts the same addresses and refuses the same ones.
"""

from __future__ import annotations

import pytest

from app.emails import normalise_email
from tests.staff_import.test_plan import admin, hr_csv, import_file, preview, start  # noqa: F401

INTERNAL = ["Jo.Bloggs@CORP.local", "sam@hr.test", "kim@intranet", "lee@group.internal"]
UNUSABLE = {
    "a@x.invalid": "special-use or reserved name",
    "b@localhost": "special-use or reserved name",
    "c@": "There must be something after the @-sign.",
}


@pytest.mark.parametrize("address", INTERNAL)
def test_an_internal_directory_address_is_a_work_email(address):
    assert normalise_email(f"  {address} ") == address.lower()


@pytest.mark.parametrize(("address", "reason"), UNUSABLE.items())
def test_an_address_no_mailbox_can_have_is_refused_with_the_reason(address, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_email(address)


def test_the_staff_import_takes_active_directory_addresses(session, admin):  # noqa: F811
    rows = [
        ["00101", "Jo", "Bloggs", "Jo.Bloggs@corp.local", "", "", "", "", ""],
        ["00102", "Sam", "Stage", "sam@hr.test", "", "", "", "", ""],
        ["00103", "Al", "Void", "al@x.invalid", "", "", "", "", ""],
    ]
    batch = start(session, admin, hr_csv(rows))
    plan = preview(session, batch, admin)
    assert [(i.row, i.column) for i in plan.errors] == [(4, "Work Email")]
    assert "special-use or reserved name" in plan.errors[0].message
