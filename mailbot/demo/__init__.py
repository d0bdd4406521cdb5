"""`mailbot demo`: the whole flow on this machine, with no servers to install or configure."""
