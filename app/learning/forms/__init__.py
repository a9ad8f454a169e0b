"""Forms of the learning pages, one module per area."""
