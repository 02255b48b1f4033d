"""The entries every device pushed, the members' balances and each device's high-water mark."""
