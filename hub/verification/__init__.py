"""Verification codes: a code sent by SMS to the phone a shopper typed, typed back at the kiosk."""
