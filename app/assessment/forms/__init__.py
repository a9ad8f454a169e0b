"""The assessment forms, one module per area (see app/assessment/views)."""
