"""Role aliases (issue 8, point 9): the catalogue's aliases are checked (one role each, never
a role's name) and used when suggesting which role a job title maps to."""

from __future__ import annotations

import pytest

from app.accounts.models import Permission
from app.content.files import ContentInvalid, read_yaml
from app.content.roles import check_roles, load_roles
from app.org.models import Role
from app.staff_import import services
from tests.factories import make_person, make_user

CATALOGUE = """\
kind: role-catalogue
version: 2
roles:
  - code: C01
    name: PMO Co-ordinator
    p3_level: any
    family: pmo
    aliases:
      - PMO Administrator
      - PMO Support Officer
  - code: C02
    name: Project Support Officer
    p3_level: project
    family: pmo
    aliases:
      - Project Administrator
  - code: C03
    name: PMO Manager
    p3_level: any
    family: pmo
    aliases: [Portfolio Office Manager, Head of Portfolio Office]
"""


def write(tmp_path, text: str):
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_aliases_are_loaded_and_suggest_the_role_for_a_job_title(session, tmp_path):
    load_roles(session, write(tmp_path, CATALOGUE))
    admin = make_user(Permission.ADMIN, person=make_person("Ada", "Admin", number="A0"))
    session.commit()
    assert session.get(Role, 1).aliases == ["PMO Administrator", "PMO Support Officer"]
    data = (
        b"Employee Number,First Name,Last Name,Job Title\n"
        b"1,Ann,One,pmo administrator\n"
        b"2,Bob,Two,Project  Administrator\n"
        b"3,Cy,Three,Head of Portfolio Office\n"
        b"4,Di,Four,PMO Support Officer\n"
        b"5,Ed,Five,Project Support Officer\n"
        b"6,Flo,Six,Chief Tea Maker\n"
    )
    batch = services.upload(session, data=data, filename="hr.csv", actor_id=admin.id)
    assert services.mapping_for(session, batch).value_maps["job_title"] == {
        "pmo administrator": "C01",
        "project administrator": "C02",
        "head of portfolio office": "C03",
        "pmo support officer": "C01",
        "project support officer": "C02",  # a role's own name, never another's alias
        "chief tea maker": "",
    }


@pytest.mark.parametrize(
    "change, path, message",
    [
        (
            ("- Project Administrator", "- PMO Manager"),
            "roles[1].aliases[0]",
            "alias 'PMO Manager' is the name of roles[2]",
        ),
        (
            ("- Project Administrator", "- pmo  ADMINISTRATOR"),
            "roles[1].aliases[0]",
            "alias 'pmo  ADMINISTRATOR' is also roles[0].aliases[0]",
        ),
        (
            ("- Project Administrator", "- Project Support Officer"),
            "roles[1].aliases[0]",
            "alias 'Project Support Officer' is the name of roles[1]",
        ),
        (
            ("- Project Administrator", "- ''"),
            "roles[1].aliases",
            "must be a list of non-empty texts",
        ),
    ],
)
def test_a_duplicate_alias_is_an_error_with_file_line_and_key_path(tmp_path, change, path, message):
    content = read_yaml(write(tmp_path, CATALOGUE.replace(*change)))
    with pytest.raises(ContentInvalid) as info:
        check_roles(content)
    [error] = info.value.errors
    assert (error.path, error.message) == (path, message)
    assert error.line == 16 if path.endswith("[0]") else error.line is not None
