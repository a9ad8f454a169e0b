"""Which of the database's tables hold rows, in one statement (the test fixtures ask before
they empty the tables or load the shipped content)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa


def tables_holding_rows(connection, names: Iterable[str]) -> set[str]:
    """The names among ``names`` of the tables holding at least one row."""
    probe = " UNION ALL ".join(
        f"SELECT '{name}' FROM (SELECT 1 FROM {name} LIMIT 1) AS t{i}"
        for i, name in enumerate(names)
    )
    return {row[0] for row in connection.execute(sa.text(probe))}
