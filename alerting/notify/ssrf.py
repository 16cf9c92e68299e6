"""SSRF guard for outgoing HTTP: resolve once, refuse internal addresses, connect to what passed.

Why this is hand-rolled on `ipaddress` + `socket.getaddrinfo` rather than requests-hardened
(the maintained library the project looked at first, 1.3.0): its adapter pins the connection to
the address it checked, which is the right technique and the one used here (with http.client:
requests cost 0.8 ms of CPU per webhook, http.client 0.2 ms), but its policy is
fixed to `is_private or is_multicast` plus a list of extra ranges, with a single "allow loopback"
switch. It cannot allow a CIDR (a LAN receiver such as Home Assistant on 192.168.x, or a
Tailscale 100.64/10 peer, both common for a self-hosted NVR), and on Python 3.11 it lets
IPv4-compatible IPv6 (`::127.0.0.1`) and `fec0::/10` through. The other candidates wrap httpx
(drawbridge, safehttpx) or are unmaintained (advocate, 2020). So the policy is ours, kept short.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests

from alerting.notify.redact import ADDRESS_SCHEMES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

# Ranges refused on top of `not is_global`, multicast and reserved, because Python 3.11's
# ipaddress calls some of them global or because they embed or translate to an IPv4 address.
_BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # CGNAT (also Tailscale, Alibaba metadata)
        "192.0.0.0/24",  # IETF protocol assignments (Oracle metadata 192.0.0.192)
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "::/96",  # IPv4-compatible IPv6 (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped IPv6 (unwrapped before the check, kept as a backstop)
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/32",  # Teredo (embeds IPv4)
        "2001:20::/28",  # ORCHIDv2
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4 (embeds IPv4)
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
    )
)

# Cloud metadata endpoints. They stay refused under a broad allow-list entry (allowing
# 100.64.0.0/10 for Tailscale must not open Alibaba's 100.100.100.200); only an allow-list entry
# naming the single address lets one through.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS IPv6
        "fd00:ec2::23",  # AWS EKS pod identity, IPv6
    )
)


class UnsafeURL(Exception):
    """A URL or address the guard refuses; `reason` says why, without secrets from the URL.

    Deliberately not a ValueError: callers must tell a refused address (permanent for this
    URL) from a malformed allow-list entry (a configuration error, ValueError).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=64)
def parse_allow_cidrs(allow_cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parse allow-list CIDRs once; a malformed entry is a configuration error (ValueError)."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in allow_cidrs)


def unwrap(ip: IPAddress) -> IPAddress:
    # ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d: judge (and allow) it as that address.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _allowed_by(ip: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    for net in networks:
        if ip.version != net.version or ip not in net:
            continue
        if ip in METADATA_ADDRESSES and net.prefixlen != net.max_prefixlen:
            continue
        return True
    return False


def _refusal(ip: IPAddress) -> str | None:
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_private:
        return "private address"
    if ip.is_reserved:
        return "reserved address"
    if not ip.is_global or any(ip in net for net in _BLOCKED_NETWORKS):
        return "non-public address"
    return None


def check_ip(address: str | IPAddress, allow_cidrs: tuple[str, ...] = ()) -> None:
    """Raise UnsafeURL unless `address` is public or inside one of `allow_cidrs`. No network I/O."""
    raw = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    ip = unwrap(raw)
    networks = parse_allow_cidrs(tuple(allow_cidrs))
    if _allowed_by(ip, networks) or (raw != ip and _allowed_by(raw, networks)):
        return
    reason = _refusal(ip)
    if reason is not None:
        raise UnsafeURL(f"{reason} {ip} is not allowed")


def resolve_checked(host: str, port: int, allow_cidrs: tuple[str, ...] = ()) -> list[str]:
    """Resolve `host` and return its addresses, refusing if any one of them is unsafe.

    Every address must pass, not just the first: a name answering [public, 127.0.0.1] is
    refused. Raises socket.gaierror when the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        check_ip(address, allow_cidrs)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL(f"host {host!r} has no IPv4 or IPv6 address")
    return addresses


def split_url(url: str) -> tuple[str, str, int]:
    """Return (scheme, hostname, port) of an http(s) URL, or raise UnsafeURL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if not parts.hostname:
        raise UnsafeURL("URL has no host")
    return scheme, parts.hostname, port or DEFAULT_PORTS[scheme]


def check_url(url: str, allow_cidrs: tuple[str, ...] = ()) -> None:
    """Check a URL when it is saved: http(s) only, and every address its host resolves to is
    public or allowed. Raises UnsafeURL(reason). The sending path checks again, then pins."""
    _scheme, host, port = split_url(url)
    try:
        resolve_checked(host, port, allow_cidrs)
    except socket.gaierror:
        raise UnsafeURL(f"host {host!r} does not resolve") from None
    except UnicodeError:
        raise UnsafeURL(f"host {host!r} is not a valid name") from None


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to an address that was checked, with the URL's host name used for
    SNI and verified against the certificate: connecting by address must not weaken TLS."""

    def __init__(self, address: str, port: int, hostname: str, *, timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self.hostname = hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.hostname)


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """Certificates checked against certifi's bundle (what requests used before) and the
    host name; built once, as loading the bundle takes milliseconds."""
    return ssl.create_default_context(cafile=certifi.where())


def pinned_connection(scheme: str, address: str, port: int, hostname: str,
                      timeout: float) -> http.client.HTTPConnection:
    """A connection to `address` (from resolve_checked), never to a fresh lookup of the name,
    so DNS cannot answer differently between the check and the connect (rebinding). The
    caller sends the URL's host in the Host header."""
    if scheme == "https":
        return PinnedHTTPSConnection(address, port, hostname, timeout=timeout,
                                     context=tls_context())
    return http.client.HTTPConnection(address, port, timeout=timeout)


def check_host(host: str, port: int, allow_cidrs: tuple[str, ...] = ()) -> None:
    """Check a host saved for a non-HTTP channel (the SMTP server) against the same policy:
    every address it resolves to is public or allowed. Raises UnsafeURL(reason). A name that
    does not resolve (yet) is left to the connection guard, which checks every connect."""
    try:
        resolve_checked(host.strip().strip("[]"), port, allow_cidrs)
    except (socket.gaierror, UnicodeError):
        return


def check_push_url(url: str, allow_cidrs: tuple[str, ...] = ()) -> None:
    """Check an Apprise URL when it is saved. Its host is not always a server (`ntfy://topic`,
    `pover://user@token`, a phone number): a host that is an address, `localhost` or a dotted
    name that resolves is checked, and a number (`json://2130706433`) for the plugins whose
    host is always a server; one that does not resolve is left to the connection guard, which
    checks every connection the send makes. Raises UnsafeURL(reason)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port or 80
    except ValueError:
        return  # an Apprise token in the port's place (tgram://bot:token/chat)
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    number = host.isdigit() and parts.scheme.lower() in ADDRESS_SCHEMES
    if not (literal or number or host == "localhost" or "." in host):
        return
    try:
        resolve_checked(host, port, allow_cidrs)
    except (socket.gaierror, UnicodeError):
        return


# --- the connection guard --------------------------------------------------------------------
#
# Apprise's plugins make their own connections: requests (through urllib3) for the HTTP ones,
# smtplib for mailto://, raw sockets for others, each resolving names itself. So the policy is
# enforced where every one of them ends up: the socket's connect (and sendto, for UDP). Inside
# `outgoing_policy(...)` a connection goes to an address only after check_ip passed it, whatever
# the name resolved to before, so DNS cannot answer one thing to a check and another to the
# connect; a socket that is not TCP/UDP over IP (a Unix socket) is refused; and requests
# follows no redirect. Outside the block sockets behave as always (one ContextVar read).


class ConnectionNotAllowed(PermissionError):
    """A connection the policy stopped. An OSError, so every library on the way handles it as
    a connection that failed, and the caller reads the reason from its ConnectionPolicy."""


@dataclass
class ConnectionPolicy:
    """The allow-list in force for one send, and what it refused (for the delivery error)."""

    allow_cidrs: tuple[str, ...] = ()
    refused: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> ConnectionNotAllowed:
        if reason not in self.refused:
            self.refused.append(reason)
        return ConnectionNotAllowed(f"refused by the outgoing connection policy: {reason}")


_active_policy: ContextVar[ConnectionPolicy | None] = ContextVar(
    "alerting_connection_policy", default=None)
_install_lock = threading.Lock()
_installed = False


def _checked_sockaddr(sock: socket.socket, address: Any, policy: ConnectionPolicy) -> Any:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        raise policy.refuse("only TCP or UDP over IPv4/IPv6 is allowed")
    host, port, *rest = address
    try:
        check_ip(str(host), policy.allow_cidrs)
        return address
    except UnsafeURL as exc:
        raise policy.refuse(exc.reason) from None
    except ValueError:
        pass  # a name: resolve it here, so what is checked is what is connected to
    try:
        resolved = resolve_checked(str(host), int(port), policy.allow_cidrs)
    except UnsafeURL as exc:
        raise policy.refuse(exc.reason) from None
    family_ok = [a for a in resolved if (":" in a) == (sock.family == socket.AF_INET6)]
    if not family_ok:
        raise policy.refuse(f"host {host!r} has no address of the socket's family")
    return (family_ok[0], port, *rest)


def _guard(method: Any, address_at: int) -> Any:
    def guarded(self: socket.socket, *args: Any) -> Any:
        policy = _active_policy.get()
        if policy is not None and len(args) > address_at:
            args = (*args[:address_at], _checked_sockaddr(self, args[address_at], policy),
                    *args[address_at + 1:])
        return method(self, *args)

    guarded.__name__ = method.__name__
    guarded.__doc__ = method.__doc__
    return guarded


def _sendto(original: Any) -> Any:
    # sendto(data, address) or sendto(data, flags, address): the address is the last argument.
    def sendto(self: socket.socket, *args: Any) -> Any:
        policy = _active_policy.get()
        if policy is not None and args:
            args = (*args[:-1], _checked_sockaddr(self, args[-1], policy))
        return original(self, *args)

    return sendto


def _no_redirect(original: Any) -> Any:
    def get_redirect_target(self: requests.Session, resp: requests.Response) -> str | None:
        target = original(self, resp)
        policy = _active_policy.get()
        if policy is not None and target:
            policy.refuse(f"HTTP {resp.status_code} redirect not followed")
            return None
        return target

    return get_redirect_target


def install_guard() -> None:
    """Wrap socket connect/connect_ex/sendto and requests' redirect step, once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        socket.socket.connect = _guard(socket.socket.connect, 0)  # type: ignore[method-assign]
        socket.socket.connect_ex = _guard(  # type: ignore[method-assign]
            socket.socket.connect_ex, 0)
        socket.socket.sendto = _sendto(socket.socket.sendto)  # type: ignore[method-assign]
        requests.Session.get_redirect_target = _no_redirect(  # type: ignore[method-assign]
            requests.Session.get_redirect_target)
        _installed = True


@contextmanager
def outgoing_policy(allow_cidrs: tuple[str, ...] = ()) -> Iterator[ConnectionPolicy]:
    """Every connection made in this context (and in threads that copy it, as Apprise's do)
    goes through the policy. A malformed allow-list entry raises ValueError before any."""
    parse_allow_cidrs(tuple(allow_cidrs))
    install_guard()
    policy = ConnectionPolicy(tuple(allow_cidrs))
    token = _active_policy.set(policy)
    try:
        yield policy
    finally:
        _active_policy.reset(token)
