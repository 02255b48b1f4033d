"""sim://HOST:PORT/kavenegar or /smsir: the real clients pointed at sim/sms_gateway.py."""

from __future__ import annotations

from hub.errors import HubError
from hub.messaging.gateways import Gateway, kavenegar, register, smsir


def _open_sim(address: str, path: str, options: dict[str, str]) -> Gateway:
    """sim://HOST:PORT/kavenegar or /smsir: the real client pointed at sim/sms_gateway.py."""
    host = address.split(":", maxsplit=1)[0]
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        raise HubError("sim:// gateways listen on loopback only (sim/sms_gateway.py)")
    if path == "kavenegar":
        return kavenegar.open_kavenegar(address, path, options, base=f"http://{address}")
    if path == "smsir":
        return smsir.open_smsir(address, path, options, base=f"http://{address}")
    raise HubError("sim://HOST:PORT/ must be followed by kavenegar or smsir")


register("sim", _open_sim)
