"""The domain core: members, the program, the ledger's rules and the service API."""
