"""Reports: heatmap (routes added on bp)."""
