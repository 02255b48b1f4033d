"""The panel's program pages."""
