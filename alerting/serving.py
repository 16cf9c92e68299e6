"""The gunicorn worker `make run` serves with: gunicorn's threaded worker, except that a request
is read whole in the worker's poller before it takes a thread.

The stock threaded worker hands a connection to a thread as soon as it has a byte to read,
and the thread then waits on the socket until the headers and body are in: 40 clients sending
their headers a byte every few seconds held every thread, and `/api/health` timed out. Here
the poller reads the headers (within HEADER_TIMEOUT seconds of the connection's first byte, or
of a kept-alive connection's next request) and the body up to PREREAD_LIMIT (within
BODY_TIMEOUT), so a thread only ever parses bytes already received; the poller also answers
`Expect: 100-continue` for such a body. A larger body (the app refuses it unread), or a
100-continue request the poller cannot answer (HTTP/1.0, chunked), is read by the thread,
each socket read bounded by BODY_TIMEOUT. A client that misses its deadline is disconnected.

A WebSocket leaves the worker after its handshake (alerting.live.loop detaches its socket):
`finish_request` sees a detached socket and only counts the connection out.
"""

from __future__ import annotations

import errno
import os
import re
import resource
import selectors
import socket
import time
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from . import metrics

HEADER_TIMEOUT = float(os.environ.get("HEADER_TIMEOUT", "10"))
BODY_TIMEOUT = float(os.environ.get("BODY_TIMEOUT", "30"))
# A larger body is read by the thread, bounded per read; the app refuses one over
# ALERTING_MAX_CONTENT_LENGTH (413) from its Content-Length without reading it.
PREREAD_LIMIT = int(os.environ.get("ALERTING_MAX_CONTENT_LENGTH") or 4 * 1024 * 1024)
HEADER_LIMIT = 64 * 1024  # past this with no end in sight, 431 from the poller
RECV_SIZE = 64 * 1024
LINGER_SECONDS = 2.0  # how long a closed connection may take to send its FIN

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)
_EXPECT = re.compile(rb"\r\nexpect:[ \t]*100-continue", re.IGNORECASE)
_EXPECT_LINE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)", re.IGNORECASE)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CHUNKED = -1
LAST_CHUNK = b"0\r\n\r\n"  # a chunked body's end (with no trailers; else BODY_TIMEOUT)

#: What this process refused or cut off, for /api/health (read with `counters()`).
_counters = {"slow_requests_closed": 0}


def counters() -> dict[str, int]:
    return dict(_counters)


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit: every WebSocket and
    every waiting client is a file. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 65536)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def body_wanted(head: bytes) -> int | None:
    """How many body bytes follow headers `head` (ending in the blank line): CHUNKED when the
    body is chunked (read until its last chunk), None when the thread is to read it (the
    client waits for `100 Continue`, or the body is larger than this worker reads ahead)."""
    if _EXPECT.search(head):
        return None
    if _CHUNKED.search(head):
        return CHUNKED
    found = _CONTENT_LENGTH.search(head)
    if found is None:
        return 0
    length = int(found.group(1))
    return length if length <= PREREAD_LIMIT else None


def continue_in_poller(head: bytes) -> bytes | None:
    """`head` without its `Expect: 100-continue` when the poller answers that itself and reads
    the body ahead: an HTTP/1.1 request whose body has a known length within PREREAD_LIMIT.
    None when there is no such expectation or the thread must answer it."""
    if not _EXPECT.search(head) or _CHUNKED.search(head):
        return None
    if not head.split(b"\r\n", 1)[0].rstrip().endswith(b"HTTP/1.1"):
        return None
    found = _CONTENT_LENGTH.search(head)
    if found is None or int(found.group(1)) > PREREAD_LIMIT:
        return None
    return _EXPECT_LINE.sub(b"", head, count=1)


class ReadingConn(TConn):
    """A connection whose next request is being read by the poller."""

    def __init__(self, cfg, sock, client, server):
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        self.deadline = 0.0
        self.head_end = -1  # where the body starts, once the headers are in
        self.wanted: int | None = 0  # body bytes to read ahead (None: the thread reads it)
        self.deadline_set = False  # a new connection's header deadline starts at its first byte

    def init(self):
        super().init()
        # The thread's own reads (a chunked or very large body) are bounded too.
        self.sock.settimeout(BODY_TIMEOUT)


class Worker(ThreadWorker):
    """gunicorn's gthread worker with request reading moved into the poller (see above)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: dict[int, ReadingConn] = {}
        self.lingering: dict[int, tuple[TConn, float]] = {}

    def init_process(self):
        raise_open_files_limit()
        super().init_process()

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = ReadingConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self.cfg.is_ssl:  # TLS is read by the thread (put a proxy in front instead)
            client_sock.setblocking(True)
            self.enqueue_req(conn)
            return
        self.start_reading(conn, time.monotonic() + max(HEADER_TIMEOUT, self.cfg.keepalive))

    def on_client_socket_readable(self, conn, client):
        # A kept-alive connection's next request: read it here too.
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if not isinstance(conn, ReadingConn):
            self.enqueue_req(conn)
            return
        self.start_reading(conn, time.monotonic() + HEADER_TIMEOUT)
        conn.deadline_set = True
        self.on_readable(conn, client)

    def start_reading(self, conn: ReadingConn, deadline: float) -> None:
        conn.sock.setblocking(False)
        conn.received.clear()
        conn.head_end = -1
        conn.deadline = deadline
        self.reading[conn.sock.fileno()] = conn
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_readable, conn))

    def stop_reading(self, conn: ReadingConn) -> None:
        self.reading.pop(conn.sock.fileno(), None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def drop(self, conn: ReadingConn) -> None:
        self.stop_reading(conn)
        self.nr_conns -= 1
        conn.close()

    def on_readable(self, conn: ReadingConn, client) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop(conn)
            return
        if not data:
            self.drop(conn)
            return
        now = time.monotonic()
        if not conn.deadline_set:
            conn.deadline, conn.deadline_set = now + HEADER_TIMEOUT, True
        conn.received += data
        if conn.head_end < 0:
            end = conn.received.find(b"\r\n\r\n")
            if end < 0:
                if len(conn.received) > HEADER_LIMIT:
                    # Answered here: handed to the parser, a client still sending valid
                    # header lines slowly would hold a thread.
                    _counters["slow_requests_closed"] += 1
                    metrics.slow_request_closed()
                    try:
                        util.write_error(conn.sock, 431, "Request Header Fields Too Large",
                                         f"the request's headers exceed {HEADER_LIMIT} bytes")
                    except OSError:
                        pass
                    self.drop(conn)
                return
            conn.head_end = end + 4
            head = bytes(conn.received[:conn.head_end])
            answered = continue_in_poller(head)
            if answered is not None:  # the header goes, so the thread sends no second one
                conn.received[:conn.head_end] = answered
                conn.head_end = len(answered)
                head = answered
                try:
                    conn.sock.send(CONTINUE)  # a few bytes into an empty send buffer
                except OSError:
                    self.drop(conn)
                    return
            conn.wanted = body_wanted(head)
            conn.deadline = now + BODY_TIMEOUT
        body = len(conn.received) - conn.head_end
        if conn.wanted is None or body > PREREAD_LIMIT:
            self.hand_over(conn)
        elif conn.wanted == CHUNKED:
            if conn.received.endswith(LAST_CHUNK):
                self.hand_over(conn)
        elif body >= conn.wanted:
            self.hand_over(conn)

    def hand_over(self, conn: ReadingConn) -> None:
        self.stop_reading(conn)
        conn.data_ready = True
        self.enqueue_req(conn)

    def handle(self, conn):
        if isinstance(conn, ReadingConn) and conn.received:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(conn.received))
            conn.received.clear()
        return super().handle(conn)

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        now = time.monotonic()
        for conn, deadline in list(self.lingering.values()):
            if force or deadline <= now:
                self.end_lingering(conn)
        late = [conn for conn in self.reading.values() if force or conn.deadline <= now]
        for conn in late:
            if not force:
                _counters["slow_requests_closed"] += 1
                metrics.slow_request_closed()
            self.drop(conn)

    def finish_request(self, conn, fs):
        if conn.sock.fileno() == -1:  # a WebSocket, detached: not ours any more
            self.nr_conns -= 1
            return
        try:
            keep = fs.result() if not fs.cancelled() else False
        except Exception:
            keep = False
        if keep:  # kept alive (or deferred): as gunicorn does
            super().finish_request(conn, fs)
            return
        self.nr_conns -= 1
        self.linger(conn)

    def linger(self, conn) -> None:
        """Close the way gunicorn does (send FIN, read what the client still sends, then
        close) without waiting in the poller's thread: gunicorn's own close_graceful waits
        there up to 2 s for a client that does not close its side, and every other
        connection of the process waits with it."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self.on_lingering_readable, conn))
        except (OSError, ValueError, KeyError):
            conn.close()
            return
        self.lingering[conn.sock.fileno()] = (conn, time.monotonic() + LINGER_SECONDS)

    def on_lingering_readable(self, conn, client) -> None:
        try:
            if conn.sock.recv(RECV_SIZE):
                return  # more of what the client sent: keep draining until its FIN
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.end_lingering(conn)

    def end_lingering(self, conn) -> None:
        self.lingering.pop(conn.sock.fileno(), None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        conn.close()
