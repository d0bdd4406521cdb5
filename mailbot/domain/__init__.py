"""The functional core: pure decisions on plain data (stdlib and `holidays` only)."""
