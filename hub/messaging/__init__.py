"""Messages to members: SMS through a gateway, from a durable outbox in PostgreSQL."""
