"""The SSRF guard: every internal address refused, after resolution; allow-list; no I/O."""

import socket

import pytest
import requests

from alerting.notify.ssrf import (
    PinnedAddressAdapter,
    UnsafeURL,
    check_ip,
    check_url,
    guarded_session,
    resolve_checked,
)

REFUSED_HOSTS = [
    "127.0.0.1",
    "localhost",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "fc00::1",
    "fe80::1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "[::]",
    "[::127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.192",
    "100.100.100.200",
    "[fd00:ec2::254]",
    "[fec0::1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "198.18.0.1",
]


def _url(host: str) -> str:
    # Bare IPv6 literals need brackets in a URL.
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}/hook"


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_check_url_refuses_internal_hosts(host):
    with pytest.raises(UnsafeURL):
        check_url(_url(host), ())


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_https_and_explicit_port_refused_too(host):
    with pytest.raises(UnsafeURL):
        check_url(_url(host).replace("http://", "https://").replace("/hook", ":8443/"), ())


def test_name_resolving_to_loopback_is_refused(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        assert host == "rebind.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeURL, match="loopback"):
        check_url("https://rebind.example/hook", ())


def test_any_unsafe_address_among_several_refuses(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeURL, match="private"):
        check_url("https://mixed.example/hook", ())


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://1.2.3.4/", "//x/y", "hook"]
)
def test_only_http_and_https(url):
    with pytest.raises(UnsafeURL, match="scheme"):
        check_url(url, ())


def test_url_without_host_refused():
    with pytest.raises(UnsafeURL, match="no host"):
        check_url("http:///path", ())


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"])
def test_public_address_allowed_without_connecting(address):
    check_ip(address, ())  # no exception, and no socket: check_ip does no I/O


def test_public_literal_resolves_without_network():
    # getaddrinfo on a numeric host parses it locally; nothing is sent.
    assert resolve_checked("93.184.216.34", 443, ()) == ["93.184.216.34"]


@pytest.mark.parametrize(
    ("address", "allow"),
    [
        ("127.0.0.1", ("127.0.0.0/8",)),
        ("::ffff:127.0.0.1", ("127.0.0.0/8",)),
        ("192.168.1.20", ("192.168.1.0/24",)),
        ("100.101.102.103", ("100.64.0.0/10",)),
        ("::1", ("::1/128",)),
        ("169.254.169.254", ("169.254.169.254/32",)),
    ],
)
def test_allow_cidrs_let_internal_addresses_through(address, allow):
    check_ip(address, allow)


@pytest.mark.parametrize(
    ("address", "allow"),
    [
        ("10.0.0.1", ("192.168.0.0/16",)),
        ("::1", ("127.0.0.0/8",)),
        # a broad allow-list entry never opens a metadata endpoint
        ("169.254.169.254", ("169.254.0.0/16",)),
        ("100.100.100.200", ("100.64.0.0/10",)),
    ],
)
def test_allow_cidrs_are_exact(address, allow):
    with pytest.raises(UnsafeURL):
        check_ip(address, allow)


def test_bad_allow_cidr_is_a_configuration_error():
    with pytest.raises(ValueError):
        PinnedAddressAdapter(("not-a-cidr",))


def test_session_refuses_before_connecting(monkeypatch):
    def no_connect(*args, **kwargs):
        raise AssertionError("a refused address must not be connected to")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    monkeypatch.setattr("urllib3.util.connection.create_connection", no_connect)
    session = guarded_session(())
    with pytest.raises(UnsafeURL):
        session.post("http://169.254.169.254/latest/meta-data/", timeout=1)


def test_session_connects_to_the_address_it_checked(monkeypatch):
    """DNS rebinding: the name answers public for the check, then loopback. The connection
    goes to the address that was checked, with the name kept in the Host header."""
    answers = iter(["93.184.216.34", "127.0.0.1"])
    connected = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        raise AssertionError(f"unexpected resolution of {host!r}")

    def fake_create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no connection made")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr("urllib3.util.connection.create_connection", fake_create_connection)
    with pytest.raises(requests.ConnectionError):
        guarded_session(()).post("http://rebind.example/hook", timeout=1, allow_redirects=False)
    assert connected == [("93.184.216.34", 80)]
