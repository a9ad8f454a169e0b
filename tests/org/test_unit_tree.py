"""The org-unit list is a tree: indented, collapsible, with each unit's head and people."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import Permission
from app.extensions import db
from app.org import queries
from app.org.models import OrgUnitPath
from tests.factories import make_person, make_unit, make_user


def _tree():
    group = make_unit("Harbour Group")
    ops = make_unit("Operations", parent=group)
    team = make_unit("Delivery Team", parent=ops)
    old = make_unit("Closed Unit", parent=group)
    old.active = False
    make_unit("Finance", parent=group)
    head = make_person("Hana", "Head", unit=ops)
    ops.head_id = head.id
    for _ in range(3):
        make_person("Team", None, unit=team)
    leaver = make_person("Lee", "Left", unit=team)
    leaver.active = False
    db.session.flush()
    return group, ops, team


def test_unit_tree_nests_children_and_counts_active_people_down_the_subtree(session):
    _tree()
    roots = queries.unit_tree(session)
    assert [r.name for r in roots] == ["Harbour Group"]
    group = roots[0]
    assert [c.name for c in group.children] == ["Finance", "Operations"]  # closed unit left out
    ops = group.children[1]
    assert (ops.people, ops.subtree_people, ops.head_name) == (1, 4, "Hana Head")
    assert [c.name for c in ops.children] == ["Delivery Team"]
    assert ops.children[0].subtree_people == 3
    assert group.subtree_people == 4
    assert "Closed Unit" in [c.name for c in queries.unit_tree(session, "all")[0].children]


def test_the_org_units_page_shows_the_tree_and_a_search_shows_matches(client, login):
    login(make_user(Permission.ADMIN))
    _tree()
    page = client.get("/admin/org-units").text
    tree = page[page.index('data-testid="unit-tree"') :]
    # Operations is inside Harbour Group's <details>, Delivery Team inside Operations'.
    assert tree.index("Harbour Group") < tree.index("Operations") < tree.index("Delivery Team")
    assert re.search(r"<details open>\s*<summary>\s*<span class=\"unit-name\">Harbour Group", tree)
    assert "4 people" in tree and "head <a" in tree and "Hana Head" in tree
    assert "Closed Unit" not in tree
    found = client.get("/admin/org-units", query_string={"q": "team"}).text
    assert 'data-testid="unit-tree"' not in found
    assert "Delivery Team" in found and "Finance" not in found


def test_the_empty_target_role_text_speaks_to_whoever_is_looking(client, login):
    admin = make_user(Permission.ADMIN)
    login(admin)
    other = make_person("Rosa", "Quinn")
    theirs = client.get(f"/people/{other.id}").text
    assert "a career conversation with Rosa is a good place" in theirs
    assert "with your manager" not in theirs
    mine = client.get("/me").text
    assert "a career conversation with your manager is a good place" in mine


def _closure(session) -> set[tuple[int, int, int]]:
    return {(r.ancestor_id, r.descendant_id, r.depth) for r in session.scalars(select(OrgUnitPath))}


def test_the_closure_table_follows_new_moved_and_removed_units(session):
    group, ops, team = _tree()
    finance = next(u for u in group.children if u.name == "Finance")
    assert (group.id, team.id, 2) in _closure(session)
    assert queries.subtree_unit_ids(session, ops.id) == {ops.id, team.id}

    team.parent_id = finance.id  # the team moves to Finance
    session.flush()
    assert queries.subtree_unit_ids(session, ops.id) == {ops.id}
    assert queries.subtree_unit_ids(session, finance.id) == {finance.id, team.id}
    assert (group.id, team.id, 2) in _closure(session)
    assert (ops.id, team.id, 1) not in _closure(session)
    assert queries.unit_path(session, team.id) == ["Harbour Group", "Finance", "Delivery Team"]

    sub = make_unit("Sub-team", parent=team)
    assert (finance.id, sub.id, 2) in _closure(session)
    session.delete(sub)
    session.flush()
    assert all(sub.id not in (a, d) for a, d, _ in _closure(session))
