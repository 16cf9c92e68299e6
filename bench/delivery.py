"""Webhook delivery speed: our server against Prometheus Alertmanager, on loopback.

Usage: python bench/delivery.py [--latency-n N] [--sustain-seconds S] [--skip-alertmanager]

Our side: a real server (fresh SQLite file, `flask db upgrade`, gunicorn as tests/support/server.py
starts it, matcher and dispatcher threads inside), one rule firing on every event with the
webhook channel, the default webhook URL pointing at a receiver.

The receiver is a raw asyncio HTTP/1.1 server (keep-alive, no framework) in its own process.
It timestamps each request with time.monotonic() (CLOCK_MONOTONIC: one clock for every
process) the moment the whole request has been read, answers at once, and streams
(time, webhook-id, headers, body) back over a pipe. Its CPU use is reported, to show it is
not the bottleneck. The same receiver serves Alertmanager's webhooks.

  (a) one at a time: POST one event, wait until the receiver has its webhook, pause, repeat;
      latency = receiver's timestamp - time before the POST. Signatures verified
      (standardwebhooks) on every webhook of this phase.
  (b) sustained: a poster thread POSTs batches of events while fewer than --backlog are
      undelivered; webhooks/s counted at the receiver over the steady window (after warm-up).
  (c) a second receiver sleeping 1 s per request gets half the alerts (a rule with
      targets.webhook_url); (a) and (b) again, measured at the fast receiver.
Then (a) and (b) for Alertmanager (/usr/bin/prometheus-alertmanager, group_wait 0s,
group_by ['...'], one webhook per alert), alerts POSTed to /api/v2/alerts with distinct labels.
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

KEY = "bench-admin-key-0123456789"
HZ = os.sysconf("SC_CLK_TCK")

# -- the receiver (runs in its own process) --------------------------------------------------

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
ERROR_RESPONSE = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
                  b"Content-Type: text/plain\r\n\r\nboom")
RECORDED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _serve(conn, behaviour: dict[str, Any]) -> None:
    """The receiver process: an asyncio protocol parsing HTTP/1.1 requests by hand.

    behaviour: fail_rate (0..1, split evenly between "500", "timeout" and "reset"),
    slow_seconds (answer every request after this long), timeout_seconds (how long a
    "timeout" answer waits), seed, keep_bodies.
    Each request produces a record (monotonic time, kind, webhook-id, webhook-timestamp,
    webhook-signature, body or None); kind is "ok", "slow", "500", "timeout" or "reset".
    "ok", "slow" and "timeout" count as processed by the receiver (a timeout is a receiver
    that did the work but answered too late), "500" and "reset" do not.
    """
    rng = random.Random(behaviour.get("seed"))
    fail_rate = float(behaviour.get("fail_rate", 0.0))
    slow = float(behaviour.get("slow_seconds", 0.0))
    late = float(behaviour.get("timeout_seconds", 2.0))
    keep_bodies = bool(behaviour.get("keep_bodies", True))
    loop = asyncio.new_event_loop()
    pending: list[tuple] = []
    scheduled = False

    def flush() -> None:
        nonlocal scheduled
        scheduled = False
        batch = pending[:]
        pending.clear()
        conn.send(batch)

    def emit(record: tuple) -> None:
        nonlocal scheduled
        pending.append(record)
        if not scheduled:
            scheduled = True
            loop.call_soon(flush)  # one pipe write per loop iteration, however many arrived

    class Handler(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.buf = bytearray()
            self.busy = False

        def data_received(self, data):
            self.buf += data
            self.process()

        def process(self):
            while not self.busy and not self.transport.is_closing():
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                length = 0
                headers: dict[str, str] = {}
                for line in bytes(self.buf[:end]).split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name.startswith(b"webhook-"):
                        headers[name.decode()] = value.strip().decode()
                if len(self.buf) < end + 4 + length:
                    return
                body = bytes(self.buf[end + 4:end + 4 + length])
                del self.buf[:end + 4 + length]
                self.handle(headers, body)

        def handle(self, headers, body):
            now = time.monotonic()
            kind = "slow" if slow else "ok"
            if fail_rate and rng.random() < fail_rate:
                kind = rng.choice(("500", "timeout", "reset"))
            emit((now, kind, *(headers.get(h) for h in RECORDED_HEADERS),
                  body if keep_bodies or kind != "ok" else None))
            if kind == "ok":
                self.transport.write(OK_RESPONSE)
            elif kind == "500":
                self.transport.write(ERROR_RESPONSE)
            elif kind == "reset":
                sock = self.transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.transport.abort()  # RST, no answer
            else:
                self.busy = True
                loop.call_later(slow if kind == "slow" else late, self.answer_late)

        def answer_late(self):
            self.busy = False
            if not self.transport.is_closing():
                self.transport.write(OK_RESPONSE)
                self.process()

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = loop.run_until_complete(loop.create_server(Handler, sock=sock))
    conn.send(("port", sock.getsockname()[1]))
    try:
        loop.run_forever()
    finally:
        server.close()


class Receiver:
    """Parent-side handle of a receiver process; `records` fills as requests arrive."""

    def __init__(self, **behaviour: Any):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, behaviour), daemon=True)
        self.proc.start()
        child.close()
        _, self.port = self._conn.recv()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.records: list[tuple] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                batch = self._conn.recv()
            except (EOFError, OSError):
                return
            with self._cond:
                self.records.extend(batch)
                self._cond.notify_all()

    def count(self) -> int:
        return len(self.records)

    def wait_for(self, n: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.records) >= n, timeout)

    def cpu_seconds(self) -> float:
        return process_cpu(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(5)
        self._conn.close()


def process_cpu(pid: int) -> float:
    """utime + stime of one process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / HZ


def group_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn arbiter + worker)."""
    total = process_cpu(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(process_cpu(int(c)) for c in children)


# -- measuring ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_stats(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"n": len(ms), "p50": statistics.median(ms), "p99": pct(ms, 0.99), "max": max(ms),
            "load": os.getloadavg()[0]}


def one_at_a_time(post_one, receiver: Receiver, n: int, warmup: int, gap: float,
                  timeout: float = 10.0) -> list[float]:
    """post_one(i) sends one item; returns receiver latency per item (seconds)."""
    samples = []
    for i in range(warmup + n):
        before = receiver.count()
        started = time.monotonic()
        post_one(i)
        if not receiver.wait_for(before + 1, timeout):
            raise TimeoutError(f"item {i} not received within {timeout}s")
        if i >= warmup:
            samples.append(receiver.records[before][0] - started)
        time.sleep(gap)
    return samples


def sustained(post_batch, receiver: Receiver, *, seconds: float, warmup: float,
              batch: int, backlog: int, expected_per_item: float = 1.0,
              cpu_pids: dict[str, int] | None = None) -> dict[str, float]:
    """Keep at most `backlog` items in flight; webhooks/s at the receiver after warm-up."""
    start_count = receiver.count()
    posted = 0
    stop = threading.Event()
    errors: list[BaseException] = []

    def poster():
        nonlocal posted
        try:
            while not stop.is_set():
                done = (receiver.count() - start_count) / expected_per_item
                if posted - done < backlog:
                    post_batch(posted, batch)
                    posted += batch
                else:
                    time.sleep(0.002)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    thread = threading.Thread(target=poster, daemon=True)
    began = time.monotonic()
    thread.start()
    time.sleep(warmup)
    window_start = time.monotonic()
    count_start = receiver.count()
    cpu_start = {name: group_cpu(pid) for name, pid in (cpu_pids or {}).items()}
    time.sleep(seconds)
    window_end = time.monotonic()
    count_end = receiver.count()
    cpu_end = {name: group_cpu(pid) for name, pid in (cpu_pids or {}).items()}
    stop.set()
    thread.join(30)
    if errors:
        raise errors[0]
    span = window_end - window_start
    result = {"rate": (count_end - count_start) / span, "posted": posted,
              "elapsed": window_end - began, "load": os.getloadavg()[0]}
    for name in cpu_start:
        result[f"cpu_{name}"] = (cpu_end[name] - cpu_start[name]) / span
    return result


def drain(receiver: Receiver, expected: int, timeout: float) -> bool:
    return receiver.wait_for(expected, timeout)


# -- our server --------------------------------------------------------------------------------


def event(i: int, camera: str, prefix: str) -> dict[str, Any]:
    from tests.support.factories import event_body

    return event_body(camera_id=camera, external_id=f"{prefix}-{i}", source="bench")


def post_json(session: requests.Session, url: str, body: Any, ok: tuple[int, ...] = (201,),
              tries: int = 3) -> requests.Response:
    """POST, retrying a connection the server closed as we reused it (keep-alive race).
    Safe to repeat: events carry source + external_id (idempotent), alerts are idempotent."""
    for attempt in range(tries):
        try:
            response = session.post(url, json=body, timeout=60)
        except requests.ConnectionError:
            if attempt == tries - 1:
                raise
            continue
        assert response.status_code in ok, (response.status_code, response.text[:500])
        return response
    raise AssertionError("unreachable")


def verify(secret: str, records: list[tuple]) -> int:
    from standardwebhooks import Webhook

    hook = Webhook(secret)
    for _t, _kind, wid, wts, wsig, body in records:
        hook.verify(body, {"webhook-id": wid, "webhook-timestamp": wts,
                           "webhook-signature": wsig})
    return len(records)


def bench_ours(args, tmp: Path) -> dict[str, Any]:
    from tests.support.server import running_server

    out: dict[str, Any] = {}
    fast = Receiver(keep_bodies=True)
    slow = Receiver(slow_seconds=1.0, keep_bodies=False)
    headers = {"x-access-token": KEY}
    env = {
        "ALERTING_BOOTSTRAP_API_KEY": KEY,
        "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",  # measure the engine, not the limit
        "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
        "ALERTING_WEBHOOK_URL": fast.url,
        "ALERTING_LOG_LEVEL": "WARNING",
        "ALERTING_RETRY_SCHEDULE": "0.2,0.5,1",
        **({"ALERTING_DISPATCH_CONCURRENCY": str(args.concurrency)} if args.concurrency else {}),
    }
    try:
        with running_server(tmp, **env) as (url, proc, log_path):
            out["log"] = str(log_path)
            http = requests.Session()
            http.headers.update(headers)
            rule = {"name": "every person on cam-fast", "severity": "high",
                    "object_types": ["person"], "camera_ids": ["cam-fast"],
                    "cooldown_seconds": 0, "channels": ["webhook"]}
            r = http.post(url + "/api/alerts/rules", json=rule)
            assert r.status_code == 201, r.text
            secret = http.post(url + "/api/notification/webhook-secret/reveal").json()[
                "webhook_secret"]
            pids = {"server": proc.pid, "receiver": fast.proc.pid}

            def post_one(prefix, camera="cam-fast"):
                def post(i):
                    post_json(http, url + "/api/events", event(i, camera, prefix))
                return post

            def post_batch(prefix, cameras=("cam-fast",)):
                session = requests.Session()
                session.headers.update(headers)

                def post(start, n):
                    body = {"events": [event(i, cameras[i % len(cameras)], prefix)
                                       for i in range(start, start + n)]}
                    post_json(session, url + "/api/events", body)
                return post

            # (a) one at a time
            first = fast.count()
            out["a"] = latency_stats(one_at_a_time(post_one("a"), fast, args.latency_n,
                                                   args.warmup_n, args.gap))
            out["verified"] = verify(secret, fast.records[first:])
            # (b) sustained
            before = fast.count()
            out["b"] = sustained(post_batch("b"), fast, seconds=args.sustain_seconds,
                                 warmup=args.sustain_warmup, batch=args.batch,
                                 backlog=args.backlog, cpu_pids=pids)
            drain(fast, before + out["b"]["posted"], 60)
            sample = random.Random(1).sample(fast.records[before:],
                                             min(200, fast.count() - before))
            out["verified"] += verify(secret, sample)
            ids = [r[2] for r in fast.records[first:]]
            out["dup_ids"] = len(ids) - len(set(ids))
            out["sample_body"] = fast.records[-1][-1]  # a real signed body, for bench/floor.py
            if getattr(args, "skip_slow", False):
                return out
            # (c) a receiver taking 1 s per request gets half the alerts
            rule_slow = {**rule, "name": "every person on cam-slow", "camera_ids": ["cam-slow"],
                         "targets": {"webhook_url": slow.url}}
            r = http.post(url + "/api/alerts/rules", json=rule_slow)
            assert r.status_code == 201, r.text

            def post_pair(prefix):
                # One POST, two events: one for the 1 s receiver, one for the fast one, so
                # (c) makes as many requests as (a) and half the alerts go to the slow one.
                def post(i):
                    body = {"events": [event(i, "cam-slow", prefix + "s"),
                                       event(i, "cam-fast", prefix)]}
                    post_json(http, url + "/api/events", body)
                return post

            out["c_lat"] = latency_stats(one_at_a_time(post_pair("c"), fast, args.latency_n,
                                                       args.warmup_n, args.gap))
            before = fast.count()
            out["c_sus"] = sustained(post_batch("cs", ("cam-fast", "cam-slow")), fast,
                                     seconds=args.sustain_seconds, warmup=args.sustain_warmup,
                                     batch=args.batch, backlog=args.backlog,
                                     expected_per_item=0.5, cpu_pids=pids)
            drain(fast, before + out["c_sus"]["posted"] // 2, 60)
            out["slow_received"] = slow.count()
            out["slow_posted"] = args.latency_n + args.warmup_n + out["c_sus"]["posted"] // 2
            out["c_sus"]["alerts_rate"] = out["c_sus"]["rate"] * 2
    finally:
        fast.stop()
        slow.stop()
    return out


# -- Alertmanager --------------------------------------------------------------------------

AM_CONFIG = """\
route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: false
"""


def alertmanager_binary() -> str | None:
    for candidate in ("/usr/bin/prometheus-alertmanager", shutil.which("prometheus-alertmanager"),
                      shutil.which("alertmanager")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def bench_alertmanager(args, tmp: Path, binary: str) -> dict[str, Any]:
    from tests.support.server import free_port

    out: dict[str, Any] = {}
    receiver = Receiver(keep_bodies=True)
    workdir = tmp / "alertmanager"
    workdir.mkdir()
    (workdir / "alertmanager.yml").write_text(AM_CONFIG.format(url=receiver.url))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "alertmanager.log", "wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={workdir / 'alertmanager.yml'}",
         f"--storage.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address=", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("alertmanager did not start; see " + str(log.name))
            time.sleep(0.05)
        version = subprocess.run([binary, "--version"], capture_output=True, text=True)
        out["version"] = ((version.stdout or version.stderr).splitlines() or ["?"])[0]
        http = requests.Session()

        def alert(i: int, prefix: str) -> dict[str, Any]:
            return {"labels": {"alertname": "PersonDetected", "camera": "cam-fast",
                               "instance": f"{prefix}-{i}", "severity": "high"},
                    "annotations": {"summary": "person at the back door"}}

        def post_one(i):
            post_json(http, url + "/api/v2/alerts", [alert(i, "a")], ok=(200,))

        def post_batch(start, n):
            session = getattr(local, "s", None) or requests.Session()
            local.s = session
            post_json(session, url + "/api/v2/alerts",
                      [alert(i, "b") for i in range(start, start + n)], ok=(200,))

        local = threading.local()
        out["a"] = latency_stats(one_at_a_time(post_one, receiver, args.latency_n,
                                               args.warmup_n, args.gap))
        before = receiver.count()
        out["b"] = sustained(post_batch, receiver, seconds=args.sustain_seconds,
                             warmup=args.sustain_warmup, batch=args.batch,
                             backlog=args.backlog,
                             cpu_pids={"server": proc.pid, "receiver": receiver.proc.pid})
        drain(receiver, before + out["b"]["posted"], 30)
        # One webhook per alert (group_by ['...']): check, and count alerts per webhook.
        per_hook = [len(json.loads(r[5])["alerts"]) for r in receiver.records[before:]]
        out["alerts_per_webhook"] = (sum(per_hook) / len(per_hook)) if per_hook else 0
        out["received"] = len(per_hook)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        receiver.stop()
    return out


# -- report ---------------------------------------------------------------------------------


def report(args, ours: dict[str, Any], am: dict[str, Any] | None) -> str:
    a, b, cl, cs = ours["a"], ours["b"], ours["c_lat"], ours["c_sus"]
    lines = [
        f"One at a time: {a['n']} events (after {args.warmup_n} warm-up), "
        f"{args.gap * 1000:g} ms pause between. Sustained: {args.sustain_seconds:g} s window "
        f"after {args.sustain_warmup:g} s warm-up, batches of {args.batch}, at most "
        f"{args.backlog} undelivered.",
        "",
        "| | p50 ms | p99 ms | max ms | sustained webhooks/s | server CPU | receiver CPU "
        "| load avg (one at a time / sustained) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| ours (a, b) | {a['p50']:.2f} | {a['p99']:.2f} | {a['max']:.2f} | {b['rate']:.0f} "
        f"| {b['cpu_server']:.0%} | {b['cpu_receiver']:.0%} | {a['load']:.1f} / {b['load']:.1f} |",
        f"| ours, half the alerts to a 1 s receiver (c): fast receiver | {cl['p50']:.2f} "
        f"| {cl['p99']:.2f} | {cl['max']:.2f} | {cs['rate']:.0f} "
        f"({cs['alerts_rate']:.0f} alerts/s matched) | {cs['cpu_server']:.0%} "
        f"| {cs['cpu_receiver']:.0%} | {cl['load']:.1f} / {cs['load']:.1f} |",
    ]
    if am:
        ab, aa = am["b"], am["a"]
        lines.append(
            f"| Alertmanager | {aa['p50']:.2f} | {aa['p99']:.2f} | {aa['max']:.2f} "
            f"| {ab['rate']:.0f} | {ab['cpu_server']:.0%} | {ab['cpu_receiver']:.0%} "
            f"| {aa['load']:.1f} / {ab['load']:.1f} |")
        lines += [
            "",
            "| ratio ours / Alertmanager | value | better is |",
            "|---|---:|---|",
            f"| p50 latency | {a['p50'] / aa['p50']:.2f}x | lower |",
            f"| p99 latency | {a['p99'] / aa['p99']:.2f}x | lower |",
            f"| sustained webhooks/s | {b['rate'] / ab['rate']:.2f}x | higher |",
        ]
    lines += [
        "",
        f"Signatures verified: {ours['verified']} (all of (a), a sample of 200 from (b)); "
        f"duplicate webhook-ids at the fast receiver: {ours['dup_ids']}.",
        f"1 s receiver: {ours['slow_received']} requests answered during (c) "
        f"of {ours['slow_posted']} alerts routed to it (DISPATCH_PER_TARGET caps its slots).",
    ]
    if am:
        lines.append(f"Alertmanager: {am['version']}; {am['received']} webhooks in (b), "
                     f"{am['alerts_per_webhook']:.2f} alerts per webhook.")
    goals = [
        ("p50 <= 5 ms one at a time", a["p50"] <= 5),
        ("p99 <= 20 ms one at a time", a["p99"] <= 20),
        (">= 1,000 webhooks/s sustained", b["rate"] >= 1000),
        ("a 1 s receiver taking half the alerts does not delay the fast one: (c) p50 within "
         "1.5x of (a), (c) webhooks/s at least 0.8x (b)",
         cl["p50"] <= 1.5 * a["p50"] and cs["rate"] >= 0.8 * b["rate"]),
    ]
    lines.append("")
    lines += [f"- {'MET' if ok else 'MISSED'}: {name}" for name, ok in goals]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-n", type=int, default=300)
    parser.add_argument("--warmup-n", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.01, help="pause between single posts")
    parser.add_argument("--sustain-seconds", type=float, default=10.0)
    parser.add_argument("--sustain-warmup", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=0,
                        help="ALERTING_DISPATCH_CONCURRENCY (0: the default)")
    parser.add_argument("--skip-alertmanager", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, db)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="bench-delivery-")
    try:
        ours = bench_ours(args, Path(tmp))
        am = None
        binary = alertmanager_binary()
        if args.skip_alertmanager:
            pass
        elif binary is None:
            print("Alertmanager not found (apt-get install prometheus-alertmanager); skipped",
                  file=sys.stderr)
        else:
            am = bench_alertmanager(args, Path(tmp), binary)
        print(report(args, ours, am))
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n(total run {time.monotonic() - started:.0f} s, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
