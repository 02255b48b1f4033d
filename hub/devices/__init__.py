"""Branches, the devices at them, their enrollment codes and the nonces of their requests."""
