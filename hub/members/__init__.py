"""The chain's members and their cards, as the devices pushed them."""
