"""The club's central server: the sync protocol served for every branch, on PostgreSQL.

A Django project with one app per domain: `devices` (branches, devices, enrollment codes,
request nonces), `members` (members and their cards), `ledger` (entries as pushed,
balances, high-water marks) and `feed` (the changes each kiosk pulls); `protocol` holds
the HTTP views of docs/sync-protocol.md and `cli` the `hub` command. See docs/hub.md.
"""

__version__ = "0.1.0"
