"""Flags: what the hub refused or found suspicious, for the owner to look at."""
