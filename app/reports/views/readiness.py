"""Reports: readiness (routes added on bp)."""
