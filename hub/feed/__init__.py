"""The change feed every kiosk pulls: members, balances, erasures, program and staff changes."""
