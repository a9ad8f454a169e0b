"""Assessments: question banks and their versions, items and their immutable versions,
scenarios and data packs, assessments drawn from banks, attempts, scoring and results."""
