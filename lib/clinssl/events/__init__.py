"""Event-sequence branch (MIMIC-IV mortality transformer with attributions). No modules yet:
its issue builds them."""
