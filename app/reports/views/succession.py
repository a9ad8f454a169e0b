"""Reports: succession (routes added on bp)."""
