"""The client's address and scheme behind a reverse proxy, trusted only from configured proxies.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are just headers: any client can send them.
This ASGI middleware believes them only when the connection comes from an address listed in
``COOPDIAG_TRUSTED_PROXIES`` (addresses or networks, e.g. ``10.0.0.5,172.18.0.0/16``; default:
none, the headers are ignored). The client is then the right-most address of the
``X-Forwarded-For`` chain that is not itself a trusted proxy, so a client cannot choose its
address by writing one at the start of the chain. The result replaces ``scope["client"]``
(``request.client``): login throttling and every log read it there.

Uvicorn runs with ``--no-proxy-headers`` (Dockerfile, ``coopdiag serve``) so that this is the
only place that reads those headers.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.types import ASGIApp, Receive, Scope, Send

Network = IPv4Network | IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.5, 172.18.0.0/16"`` as networks; ValueError (Spanish) naming a bad entry."""
    networks = []
    for entry in text.replace(";", ",").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"COOPDIAG_TRUSTED_PROXIES: «{entry}» no es una dirección IP ni una red (por ejemplo 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _is_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def _valid_address(text: str) -> str | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:5000
        text = text.split(":", 1)[0]
    try:
        return str(ip_address(text))
    except ValueError:
        return None


class TrustedProxyHeaders:
    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...] = ()) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer = scope["client"][0]
            if _is_in(peer, self.trusted):
                scope = self._rewritten(scope)
        await self.app(scope, receive, send)

    def _rewritten(self, scope: Scope) -> Scope:
        forwarded_for: list[str] = []
        proto = None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded_for.extend(value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
        scope = dict(scope)
        client = None
        for hop in reversed(forwarded_for):
            address = _valid_address(hop)
            if address is None:
                break  # garbage in the chain: stop at the last address a proxy vouched for
            client = address
            if not _is_in(address, self.trusted):
                break
        if client is not None:
            scope["client"] = (client, 0)
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        return scope
