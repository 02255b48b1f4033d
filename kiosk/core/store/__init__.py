"""The stores: the only code that reads and writes the kiosk database's tables."""
