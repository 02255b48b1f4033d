"""The chain's program and staff, published by the owner, signed with the owner's key."""
