"""One thread per process that owns every open WebSocket after its handshake.

A WebSocket used to hold a request thread (and simple-websocket's reader thread) for as long
as it stayed open: a few dozen idle clients took every thread and the API stopped answering.
Here the route does the handshake (flask-sock, simple-websocket), the catch-up and the caps in
its request thread, then hands the socket to this loop and returns; the thread is free again.

The loop is each socket's only reader and writer: it reads and discards what clients send,
answers pings and close frames, pings every client every `ping_seconds` (one that has not
answered the previous ping is closed), and writes every message. Messages come from the hub
through one subscription per form (json, html) for all clients of this process, so a publish
is one queue put, not one per client; the loop encodes each batch once for every client that
takes plain frames, and compresses per client for those that asked for permessage-deflate.

A client whose unsent messages pass the hub's queue size is dropped (its socket shut down),
as before: it reconnects with its last id.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable
from queue import Empty, SimpleQueue
from typing import Any

from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from .. import metrics

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013  # close code: the server is at its connection cap
POLICY_VIOLATION = 1008
RECV_SIZE = 65536
TAKE_LIMIT = 4096  # messages the loop takes from a subscription at once
CLOSE_SECONDS = 5.0  # how long a closing connection may take to flush its close frame


class Refused(Exception):
    """A new WebSocket past a cap: `reason` is the close frame's text."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Connection:
    """One client's socket, its wsproto state, and what waits to be written to it. Only the
    loop thread touches these after `attach`, except `done` and `drained` (events)."""

    __slots__ = ("sock", "ws", "fmt", "compressed", "principal", "out", "queued", "held",
                 "already", "live", "closing", "close_by", "next_ping", "awaiting_pong",
                 "done", "drained", "writing", "fd")

    def __init__(self, sock: socket.socket, ws: Any, fmt: str | None, compressed: bool,
                 principal: str | None):
        self.sock = sock
        self.ws = ws  # the wsproto connection, past its handshake
        self.fmt = fmt  # "json" / "html": hub messages in that form; None: only send_texts
        self.compressed = compressed
        self.principal = principal
        self.out = bytearray()
        self.queued = 0  # messages in `out` since it was last empty
        self.held: list[Any] | None = [] if fmt else None  # live messages during catch-up
        self.already: set[int] = set()  # alert ids the catch-up sent
        self.live = fmt is None
        self.closing = False
        self.close_by = 0.0
        self.next_ping = 0.0
        self.awaiting_pong = False
        self.done = threading.Event()
        self.drained = threading.Event()
        self.drained.set()
        self.writing = False  # registered for EVENT_WRITE too (something is left in `out`)
        self.fd = sock.fileno()

    def encode(self, text: str) -> bytes:
        if self.compressed:
            return self.ws.send(TextMessage(data=text))
        from . import text_frame

        return text_frame(text)


class LiveLoop:
    """The per-process owner of all WebSocket connections (see the module docstring)."""

    def __init__(self, subscribe: Callable[..., Any], unsubscribe: Callable[[Any], None],
                 queue_size: int, max_connections: int, max_per_principal: int,
                 ping_seconds: float):
        self._subscribe = subscribe
        self._unsubscribe = unsubscribe
        self.queue_size = queue_size
        self.max_connections = max_connections
        self.max_per_principal = max_per_principal
        self.ping_seconds = ping_seconds
        self.refused_total = 0
        self.dropped_total = 0
        self.opened_total = 0
        self._lock = threading.Lock()
        self._open = 0  # admitted and not yet finished (the caps count these)
        self._per_principal: dict[str, int] = {}
        self._calls: SimpleQueue[Callable[[], None]] = SimpleQueue()
        self._wake_r: socket.socket | None = None  # made with the thread, which keeps them
        self._wake_w: socket.socket | None = None
        self._woken = threading.Event()
        self._selector: selectors.BaseSelector | None = None
        self._connections: dict[int, Connection] = {}
        self._by_format: dict[str, set[Connection]] = {"json": set(), "html": set()}
        self._subscriptions: dict[str, Any] = {}
        self._attaching = {"json": 0, "html": 0}  # attached, not yet registered by the loop
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # -- from any thread ------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        return {"open": self._open, "max": self.max_connections,
                "max_per_principal": self.max_per_principal,
                "opened_total": self.opened_total, "refused_total": self.refused_total,
                "dropped_total": self.dropped_total}

    def admit(self, principal: str | None) -> None:
        """Count a new connection in, or raise Refused when a cap is reached. Every admit
        is matched by the connection's end (or `release` when it never attaches)."""
        with self._lock:
            if self._open >= self.max_connections:
                self.refused_total += 1
                metrics.websocket_refused()
                raise Refused(f"This server has {self.max_connections} live connections "
                              "open, its limit: try again later")
            if principal is not None and \
                    self._per_principal.get(principal, 0) >= self.max_per_principal:
                self.refused_total += 1
                metrics.websocket_refused()
                raise Refused(f"This key or user has {self.max_per_principal} live "
                              "connections open, its limit: close some first")
            self._open += 1
            self.opened_total += 1
            metrics.websocket_opened()
            if principal is not None:
                self._per_principal[principal] = self._per_principal.get(principal, 0) + 1

    def release(self, principal: str | None) -> None:
        with self._lock:
            self._open -= 1
            metrics.websocket_closed()
            if principal is not None:
                left = self._per_principal.get(principal, 1) - 1
                if left:
                    self._per_principal[principal] = left
                else:
                    self._per_principal.pop(principal, None)

    def attach(self, sock: socket.socket, ws: Any, fmt: str | None, compressed: bool,
               principal: str | None) -> Connection:
        """Take over an admitted connection's socket. A `fmt` connection holds the hub's
        messages until `go_live`; its subscription is in place when this returns."""
        self._ensure_thread()
        sock.setblocking(False)
        conn = Connection(sock, ws, fmt, compressed, principal)
        if fmt is not None:
            with self._thread_lock:
                self._attaching[fmt] += 1
            try:
                self._ensure_subscription(fmt)
            except Exception:
                with self._thread_lock:
                    self._attaching[fmt] -= 1
                raise
        self._call(lambda: self._register(conn))
        return conn

    def send_texts(self, conn: Connection, texts: Iterable[str]) -> None:
        """Queue text messages for one client, after what is queued already."""
        texts = list(texts)
        if texts:
            conn.drained.clear()
            self._call(lambda: self._write_texts(conn, texts))

    def go_live(self, conn: Connection, already: set[int], texts: Iterable[str] = ()) -> None:
        """End the catch-up: send `texts`, then what was held (less `already`), then live."""
        texts = list(texts)
        self._call(lambda: self._go_live(conn, already, texts))

    def close(self, conn: Connection, code: int = 1000, reason: str = "") -> None:
        self._call(lambda: self._close(conn, code, reason))

    # -- the loop thread ------------------------------------------------------------------

    def _call(self, call: Callable[[], None]) -> None:
        self._calls.put(call)
        self._wake()

    def _wake(self) -> None:
        if not self._woken.is_set() and self._wake_w is not None:
            self._woken.set()
            with contextlib.suppress(BlockingIOError, OSError):
                self._wake_w.send(b"\0")

    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                if self._selector is None:
                    self._wake_r, self._wake_w = socket.socketpair()
                    self._wake_r.setblocking(False)
                    self._wake_w.setblocking(False)
                    self._selector = selectors.DefaultSelector()
                    self._selector.register(self._wake_r, selectors.EVENT_READ, None)
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="alerting-live-loop")
                self._thread.start()

    def _ensure_subscription(self, fmt: str) -> None:
        # Subscribing can wait on Redis for seconds: not under the lock the loop thread takes.
        with self._thread_lock:
            if fmt in self._subscriptions:
                return
        subscription = self._subscribe(fmt=fmt, size=self.queue_size * 16,
                                       on_offer=self._wake, on_drop=self._wake)
        with self._thread_lock:
            if fmt not in self._subscriptions:
                self._subscriptions[fmt] = subscription
                return
        self._unsubscribe(subscription)  # another attach subscribed meanwhile

    def _run(self) -> None:
        next_sweep = time.monotonic() + 1.0
        while True:
            try:
                for key, mask in self._selector.select(timeout=1.0):
                    conn = key.data
                    if conn is None:
                        self._drain_wake()
                        continue
                    if mask & selectors.EVENT_READ:
                        self._on_readable(conn)
                    if mask & selectors.EVENT_WRITE and self._current(conn):
                        self._flush(conn)
                self._run_calls()
                self._fan_out()
                now = time.monotonic()
                if now >= next_sweep:
                    next_sweep = now + 1.0
                    self._sweep(now)
            except Exception:  # the loop must outlive any one client's surprise
                log.exception("live: the connection loop hit an error; carrying on")

    def _drain_wake(self) -> None:
        # Drain, then clear: cleared first, a waker could set the flag and have its byte
        # drained here, leaving the flag set with nothing to read, and every later wake-up
        # skipped (the loop then only woke on its 1 s timeout). Whatever was queued before
        # the flag is cleared is taken by the fan-out that follows.
        with contextlib.suppress(BlockingIOError, OSError):
            while self._wake_r.recv(4096):
                pass
        self._woken.clear()

    def _run_calls(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except Empty:
                return
            call()

    def _register(self, conn: Connection) -> None:
        self._connections[conn.fd] = conn
        if conn.fmt is not None:
            self._by_format[conn.fmt].add(conn)
            with self._thread_lock:
                self._attaching[conn.fmt] -= 1
        conn.next_ping = time.monotonic() + self.ping_seconds
        try:
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
        except (ValueError, OSError):
            self._finish(conn)

    def _fan_out(self) -> None:
        for fmt, subscription in list(self._subscriptions.items()):
            if subscription.dropped:  # the loop itself fell behind: start that form afresh
                self._restart_subscription(fmt, subscription)
                continue
            messages = subscription.take(0, TAKE_LIMIT)
            if not messages:
                continue
            html = fmt == "html"
            frames: bytes | None = None
            for conn in list(self._by_format[fmt]):
                if conn.closing:
                    continue
                if not conn.live:
                    conn.held.extend(messages)
                    if len(conn.held) > self.queue_size:
                        self._drop(conn)
                    continue
                if conn.compressed or conn.already:
                    self._write_messages(conn, messages)
                    continue
                if frames is None:  # the same bytes for every plain client
                    frames = b"".join([m.html_frame if html else m.text_frame
                                       for m in messages])
                self._append(conn, frames, len(messages))
            if len(messages) == TAKE_LIMIT:
                self._wake()  # more may wait: come back after serving the sockets

    def _restart_subscription(self, fmt: str, subscription: Any) -> None:
        with self._thread_lock:
            self._subscriptions.pop(fmt, None)
        for conn in list(self._by_format[fmt]):
            self._drop(conn)

    def _write_messages(self, conn: Connection, messages: list[Any]) -> None:
        if conn.already:  # skip what the catch-up sent (each id comes once more, at most)
            sent = conn.already.intersection(m.alert_id for m in messages)
            if sent:
                messages = [m for m in messages if m.alert_id not in sent]
                conn.already -= sent
        html = conn.fmt == "html"
        if conn.compressed:
            data = b"".join([conn.ws.send(TextMessage(data=payload)) for m in messages
                             if (payload := m.html if html else m.text)])
        else:
            data = b"".join([m.html_frame if html else m.text_frame for m in messages])
        self._append(conn, data, len(messages))

    def _current(self, conn: Connection) -> bool:
        """Whether `conn` is still open: its descriptor number may already serve another."""
        return self._connections.get(conn.fd) is conn

    def _write_texts(self, conn: Connection, texts: list[str]) -> None:
        if self._current(conn) and not conn.closing:
            self._append(conn, b"".join([conn.encode(text) for text in texts]), len(texts))

    def _go_live(self, conn: Connection, already: set[int], texts: list[str]) -> None:
        if not self._current(conn) or conn.closing:
            return
        self._write_texts(conn, texts)
        held, conn.held = conn.held or [], None
        conn.already = set(already)
        conn.live = True
        if held:
            self._write_messages(conn, held)

    def _append(self, conn: Connection, data: bytes, count: int) -> None:
        if not data:
            return
        if not conn.out:  # the usual case: a client keeping up takes it all at once
            try:
                sent = conn.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._finish(conn)
                return
            if sent == len(data):
                if not conn.drained.is_set():
                    conn.drained.set()
                return
            data = memoryview(data)[sent:]
        conn.out += data
        conn.queued += count
        if conn.queued > self.queue_size:
            self._drop(conn)
            return
        self._flush(conn)

    def _flush(self, conn: Connection) -> None:
        try:
            while conn.out:
                sent = conn.sock.send(conn.out)
                del conn.out[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._finish(conn)
            return
        if conn.out:
            conn.drained.clear()
            self._watch(conn, True)
            return
        conn.queued = 0
        if not conn.drained.is_set():
            conn.drained.set()
        if conn.closing:
            self._finish(conn)
        else:
            self._watch(conn, False)

    def _watch(self, conn: Connection, writing: bool) -> None:
        if conn.writing == writing:
            return
        conn.writing = writing
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
        try:
            self._selector.modify(conn.sock, events, conn)
        except (KeyError, ValueError, OSError):
            pass

    def _on_readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._finish(conn)
            return
        reply = b""
        try:
            conn.ws.receive_data(data)
            for event in conn.ws.events():
                if isinstance(event, Ping):
                    reply += conn.ws.send(event.response())
                elif isinstance(event, Pong):
                    conn.awaiting_pong = False
                elif isinstance(event, CloseConnection):
                    if not conn.closing:  # answer it, then close once that is written
                        reply += conn.ws.send(event.response())
                        conn.closing = True
                        conn.close_by = time.monotonic() + CLOSE_SECONDS
                    else:  # the answer to our own close frame
                        self._finish(conn)
                        return
                    break
                elif isinstance(event, (TextMessage, BytesMessage)):
                    pass  # clients have nothing to tell us
        except (LocalProtocolError, RemoteProtocolError):
            self._finish(conn)
            return
        if reply or conn.closing:
            conn.out += reply
            self._flush(conn)

    def _close(self, conn: Connection, code: int, reason: str) -> None:
        if not self._current(conn) or conn.closing:
            return
        try:
            conn.out += conn.ws.send(CloseConnection(code=code, reason=reason))
        except LocalProtocolError:
            self._finish(conn)
            return
        conn.closing = True
        conn.close_by = time.monotonic() + CLOSE_SECONDS
        self._flush(conn)

    def _drop(self, conn: Connection) -> None:
        self.dropped_total += 1
        metrics.websocket_dropped()
        log.warning("live: a client fell %d messages behind and was dropped", self.queue_size)
        with contextlib.suppress(OSError):
            # What is in the kernel's buffer still reaches the client, then the end.
            conn.sock.shutdown(socket.SHUT_RDWR)
        self._finish(conn)

    def _sweep(self, now: float) -> None:
        for conn in list(self._connections.values()):
            if conn.closing:
                if now >= conn.close_by:
                    self._finish(conn)
            elif now >= conn.next_ping:
                if conn.awaiting_pong:
                    self._close(conn, POLICY_VIOLATION, "Ping/Pong timeout")
                    continue
                conn.awaiting_pong = True
                conn.next_ping = now + self.ping_seconds
                try:
                    conn.out += conn.ws.send(Ping())
                except LocalProtocolError:
                    self._finish(conn)
                    continue
                self._flush(conn)

    def _finish(self, conn: Connection) -> None:
        if not self._current(conn):
            return
        del self._connections[conn.fd]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(conn.sock)
        with contextlib.suppress(OSError):
            conn.sock.close()
        if conn.fmt is not None:
            self._by_format[conn.fmt].discard(conn)
            if not self._by_format[conn.fmt]:
                self._end_subscription(conn.fmt)
        conn.out.clear()
        conn.drained.set()
        self.release(conn.principal)
        conn.done.set()

    def _end_subscription(self, fmt: str) -> None:
        """No client of this form is left: stop building it (unless one is on its way)."""
        with self._thread_lock:
            if self._attaching[fmt]:
                return
            subscription = self._subscriptions.pop(fmt, None)
        if subscription is not None:
            self._unsubscribe(subscription)
