"""Integration with a shop's own CRM: outgoing webhooks and the read API (docs/integration.md)."""
