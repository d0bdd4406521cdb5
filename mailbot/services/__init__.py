"""Use cases: each orchestrates the domain and the ports in one transaction."""
