"""Reports: coverage (routes added on bp)."""
