"""The imperative shell's edges: the only code that touches mail servers and the database."""
