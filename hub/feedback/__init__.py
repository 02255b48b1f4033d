"""Shoppers' ratings of their visits, pushed by the kiosks (docs/sync-protocol.md, "Feedback")."""
