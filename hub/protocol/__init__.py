"""The HTTP side of docs/sync-protocol.md, version 1: enroll, push, changes, heartbeat."""
