"""The member's own page on their phone (docs/club.md): /club/, signed in by an SMS code."""
