"""The owner's panel (docs/panel.md): sign-in with two factors, roles, the audit log's page,
and the pages of members, reports and the program (sub-packages of their own)."""
