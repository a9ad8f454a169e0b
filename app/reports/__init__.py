"""Capability reports: each person's level and requirement per competency kept as dated
spans, and the reports (heatmap, role readiness, bench strength, office coverage) that
aggregate them in SQL."""
