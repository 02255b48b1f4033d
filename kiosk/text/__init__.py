"""Text and numbers for people: digits, money, phones, dates, right-to-left, messages."""
