"""The Kivy touch app (the only part of kiosk/ besides the CLI that imports Kivy)."""
