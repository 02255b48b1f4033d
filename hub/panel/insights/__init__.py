"""The panel's insights pages."""
