"""The SSRF guard: every internal address refused, after resolution; allow-list; no I/O."""

import datetime
import http.client
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerting.notify.base import ChannelSettings, Message
from alerting.notify.ssrf import (
    UnsafeURL,
    check_ip,
    check_url,
    parse_allow_cidrs,
    pinned_connection,
    resolve_checked,
)
from alerting.notify.webhook import WebhookNotifier

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
        parse_allow_cidrs(("not-a-cidr",))


def send(url: str):
    message = Message(delivery_id="dlv_1", severity="high", title="t", text="t",
                      webhook_body={"a": 1})
    return WebhookNotifier().send(message, url, ChannelSettings(webhook_timeout_seconds=1))


def test_webhook_refuses_before_connecting(monkeypatch):
    def no_connect(*args, **kwargs):
        raise AssertionError("a refused address must not be connected to")

    monkeypatch.setattr(socket, "create_connection", no_connect)
    outcome = send("http://169.254.169.254/latest/meta-data/")
    assert not outcome.ok and not outcome.retryable
    assert outcome.error == "unsafe URL: cloud metadata address 169.254.169.254 is not allowed"


def test_webhook_connects_to_the_address_it_checked(monkeypatch):
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
    monkeypatch.setattr(socket, "create_connection", fake_create_connection)
    outcome = send("http://rebind.example/hook")
    assert not outcome.ok and outcome.retryable and "connection error" in outcome.error
    assert connected == [("93.184.216.34", 80)]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A TLS server on 127.0.0.1 whose certificate names only `hook.example`, and a client
    context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hook.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("hook.example")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    seen_sni = []

    def serve():
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with server_context.wrap_socket(raw, server_side=True) as conn:
                    # Read all of it: closing a socket with unread data resets it.
                    request = b""
                    while not request.endswith(b"\r\n\r\n{}"):
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        request += chunk
                    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            except (ssl.SSLError, OSError):
                pass

    def remember_sni(sock, server_name, context):
        seen_sni.append(server_name)

    server_context.sni_callback = remember_sni
    threading.Thread(target=serve, daemon=True).start()
    client_context = ssl.create_default_context(cafile=folder / "cert.pem")
    yield listener.getsockname()[1], client_context, seen_sni
    listener.close()


def test_https_to_the_checked_address_uses_the_name_for_sni_and_certificate(
        tls_server, monkeypatch):
    port, context, seen_sni = tls_server
    monkeypatch.setattr("alerting.notify.ssrf.tls_context", lambda: context)
    conn = pinned_connection("https", "127.0.0.1", port, "hook.example", timeout=5)
    try:
        conn.request("POST", "/hook", b"{}", {"Host": f"hook.example:{port}"})
        assert conn.getresponse().status == 204
    finally:
        conn.close()
    assert seen_sni[-1] == "hook.example"


def test_https_certificate_for_another_name_is_refused(tls_server, monkeypatch):
    port, context, _seen = tls_server
    monkeypatch.setattr("alerting.notify.ssrf.tls_context", lambda: context)
    conn = pinned_connection("https", "127.0.0.1", port, "other.example", timeout=5)
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="other.example"):
            conn.request("POST", "/hook", b"{}")
    finally:
        conn.close()


def test_http_connection_is_plain():
    assert type(pinned_connection("http", "127.0.0.1", 80, "x", timeout=1)) \
        is http.client.HTTPConnection
