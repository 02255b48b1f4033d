"""The panel's members pages."""
