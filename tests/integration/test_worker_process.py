"""`flask worker` as docs/deploy.md runs it, a process of its own beside the web processes."""

import subprocess

from tests.support.databases import TempDatabase
from tests.support.server import BIN, ROOT, server_env, upgrade


def run_worker(env: dict[str, str]) -> str:
    """Start `flask worker`, stop it with SIGTERM once it runs; what it wrote."""
    proc = subprocess.Popen([str(BIN / "flask"), "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if " running: " in line:
                break
        proc.terminate()
        lines.append(proc.stdout.read())
        assert proc.wait(timeout=30) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    return "".join(lines)


def test_a_worker_without_redis_says_its_alerts_reach_no_browser(tmp_path):
    """Its alerts go out live only through Redis: without ALERTING_REDIS_URL (set on the web
    processes only, say) every alert it matched was missing from the live pages, silently."""
    database = TempDatabase(tmp_path, "worker")
    try:
        env = server_env(database.url, ALERTING_INPROCESS_WORKERS="off")
        upgrade(env)
        output = run_worker(env)
        assert "ALERTING_REDIS_URL is unset" in output
        assert "no live page" in output
    finally:
        database.drop()
