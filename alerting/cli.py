"""`flask --app app ...` commands: keys, users, rules (as code), worker, mqtt, simulate."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from . import workers
from .config import public_url
from .engine.errors import ValidationError
from .extensions import db
from .models import User
from .services import keys, sessions, users

keys_cli = AppGroup("keys", help="Create, list and revoke API keys.")
rules_cli = AppGroup("rules", help="Rules as code: export the site configuration to YAML, "
                                   "apply a file.")
users_cli = AppGroup("users", help="Manage the people who log in to the pages.")


@keys_cli.command("create")
@click.option("--name", required=True, help="What the key is for, e.g. frigate-ingest.")
@click.option("--scope", type=click.Choice(keys.SCOPES), default="admin", show_default=True)
def create_key(name: str, scope: str) -> None:
    """Create a key and print it (last line). It is not shown again."""
    try:
        key, raw = keys.create_key(name, scope, actor="cli")
    except ValidationError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"Created {scope} key #{key.id} '{key.name}'. Store it now; it is not shown again:")
    click.echo(raw)


@keys_cli.command("list")
def list_keys() -> None:
    """List keys (never the keys themselves)."""
    for key in keys.list_keys():
        state = "revoked" if key.revoked_at else "active"
        used = key.last_used_at.isoformat() if key.last_used_at else "never"
        click.echo(f"#{key.id}\t{key.prefix}…\t{key.scope}\t{state}\tlast used {used}\t{key.name}")


@keys_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke_key(key_id: int) -> None:
    """Revoke a key by its number."""
    if keys.revoke_key(key_id, actor="cli") is None:
        raise click.ClickException(f"no key #{key_id}")
    click.echo(f"Revoked key #{key_id}")


@users_cli.command("create")
@click.argument("username")
@click.password_option()
def create_user(username: str, password: str) -> None:
    """Create a user who can log in to the pages."""
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} exists")
    users.create_user(username, password, actor="cli")
    click.echo(f"Created user {username}")


@users_cli.command("set-password")
@click.argument("username")
@click.password_option()
def set_password(username: str, password: str) -> None:
    """Set a user's password; every session of the user ends."""
    user = _user(username)
    users.set_password(user, password, actor="cli")
    click.echo(f"Password set for {username}; their sessions are logged out")


@users_cli.command("end-sessions")
@click.argument("username")
def end_sessions(username: str) -> None:
    """Log a user out everywhere: every session of theirs ends now."""
    ended = sessions.end_all(_user(username).id, actor="cli")
    click.echo(f"Ended {ended} session(s) of {username}")


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@click.command("simulate")
@click.option("--url", default=None,
              help="The running instance to post to. Default: ALERTING_PUBLIC_URL, else "
                   "http://127.0.0.1:$PORT (8000 when PORT is unset), as `make run` serves.")
@click.option("--key", default=None,
              help="An ingest (or admin) API key. Default: ALERTING_BOOTSTRAP_API_KEY, else a "
                   "new ingest key 'simulator' is created for the run.")
@click.option("--cameras", type=click.IntRange(1, 100), default=4, show_default=True)
@click.option("--rate", type=click.FloatRange(min=0.01), default=2.0, show_default=True,
              help="Events a second.")
@click.option("--duration", type=click.FloatRange(min=0), default=None,
              help="Seconds to run. Default: until --count, or Ctrl-C.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Events to post.")
@click.option("--seed", type=int, default=None, help="Same seed, same kind of events.")
@click.option("--report-every", type=click.IntRange(min=1), default=10, show_default=True,
              help="Print a line per this many events.")
@with_appcontext
def simulate(url: str | None, key: str | None, cameras: int, rate: float, duration: float | None,
             count: int | None, seed: int | None, report_every: int) -> None:
    """Post realistic synthetic detection events to a running instance (a demo detector)."""
    from . import simulate as sim

    url = url or public_url(current_app.config)
    key = key or os.environ.get("ALERTING_BOOTSTRAP_API_KEY") or \
        current_app.config["BOOTSTRAP_API_KEY"]
    created_key = None
    if not key:
        created_key, key = keys.create_key("simulator", "ingest", actor="cli:simulate")
        click.echo(f"Created ingest key #{created_key.id} 'simulator' for this run "
                   "(deleted when it ends).")
    sim.ensure_demo_rules(click.echo)
    generator = sim.EventGenerator(seed=seed, camera_count=cameras,
                                   timezone=current_app.config["TIMEZONE"])
    names = ", ".join(c.id for c in generator.cameras)
    click.echo(f"Posting to {url} from {cameras} camera(s) ({names}) at {rate:g} events/s"
               + ("; Ctrl-C stops." if count is None and duration is None else "."))
    counter = sim.alert_counter(generator)
    try:
        progress = sim.post_events(url, key, generator, rate=rate, count=count,
                                   duration=duration, report_every=report_every,
                                   count_alerts=counter, echo=click.echo)
        sim.wait_until_matched(generator)
        progress.alerts = counter()
    except sim.SimulationError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if created_key is not None:
            keys.delete_key(created_key.id, actor="cli:simulate")
    click.echo(f"Done: {progress.posted} events posted in {progress.elapsed:.1f} s"
               f" ({progress.duplicates} repeats, {progress.failed} refused), "
               f"{progress.alerts} alerts.")


def loop_options(command: Callable[..., None]) -> Callable[..., None]:
    """--<loop>/--no-<loop> for each of workers.NAMES (camera_health: --camera-health), on by
    default, with the loop's help (workers.ABOUT)."""
    # Reversed: click lists options in the order their decorators are written, bottom last.
    for name in reversed(workers.NAMES):
        flag = name.replace("_", "-")
        command = click.option(f"--{flag}/--no-{flag}", name, default=True, show_default=True,
                               help=workers.ABOUT[name])(command)
    return command


@click.command("worker")
@loop_options
@with_appcontext
def worker(**loops: bool) -> None:
    """Run the matcher, the dispatcher, the mode scheduler, the camera health timer, the
    track timer, the groups' flusher, the escalation timer and the digest timer in this
    process until SIGTERM or Ctrl-C.

    Run as many as you like against PostgreSQL (events and deliveries are claimed with
    row locks); set ALERTING_INPROCESS_WORKERS=off on the web processes."""
    from . import metrics

    app = current_app._get_current_object()
    metrics.remove_dead_processes()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    names = [name for name in workers.NAMES if loops[name]]
    # Supervised loops: an error is logged and retried with backoff, never the end of one.
    running = workers.launch(app, names)
    click.echo(f"worker {os.getpid()} running: {', '.join(names) or 'nothing'}", err=True)
    if not app.config["REDIS_URL"]:
        # The live hub of this process has no browser connected: only Redis carries what
        # this worker matches and sends to the web processes (docs/deploy.md).
        click.echo("warning: ALERTING_REDIS_URL is unset: the alerts this worker matches "
                   "reach no live page or WebSocket client; give it the web processes' "
                   "ALERTING_REDIS_URL", err=True)
    while not stop.wait(1.0):
        if not all(loop.alive for loop in running):  # only a BaseException ends one
            workers.stop(app)
            raise click.ClickException("a worker loop ended; see the log above")
    workers.stop(app)
    metrics.process_ended(os.getpid())
    click.echo(f"worker {os.getpid()} stopped", err=True)


@rules_cli.command("export")
def rules_export() -> None:
    """Print the site configuration as YAML (secrets as ${VAR} references)."""
    from .services import site_config

    try:
        click.echo(site_config.export_yaml(), nl=False)
    except ValidationError as exc:
        raise click.ClickException(exc.message) from exc


@rules_cli.command("apply")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True,
              help="Show the changes and replay new or changed rules over the last 7 days; "
                   "change nothing.")
@click.option("--prune", is_flag=True, help="Delete the rules the file does not list.")
def rules_apply(file, dry_run: bool, prune: bool) -> None:
    """Apply a YAML file: print the diff, then change everything in one transaction."""
    from .services import site_config

    source = getattr(file, "name", "<stdin>")
    try:
        data, lines = site_config.read(file.read(), source)
        the_plan = site_config.plan(data, source=source, prune=prune, lines=lines)
        if dry_run:
            click.echo(site_config.render(the_plan, site_config.replays(the_plan)), nl=False)
            db.session.rollback()
            site_config.rehearse(the_plan, "cli", lines)
            click.echo("Dry run: nothing was changed.")
            return
        click.echo(site_config.render(the_plan), nl=False)
        done = site_config.apply(the_plan, actor="cli", lines=lines)
    except site_config.ConfigFileError as exc:
        for line in exc.located:
            click.echo(line, err=True)
        raise click.ClickException("nothing was changed") from exc
    except ValidationError as exc:
        raise click.ClickException(f"{exc.message}; nothing was changed") from exc
    click.echo(f"Applied {len(done)} change(s)." if done else "Nothing to apply.")
@click.command("mqtt")
@click.option("--matcher/--no-matcher", default=False, show_default=True,
              help="Also run a matcher here: what arrives is matched at once (on SQLite in "
                   "the transaction that stores it) instead of by a worker's next poll.")
@with_appcontext
def mqtt(matcher: bool) -> None:
    """Run the MQTT subscriber (ALERTING_MQTT_URL) in this process until SIGTERM or Ctrl-C.

    Run exactly one per deployment, with ALERTING_MQTT_INPROCESS=off on the web processes
    (docs/deploy.md)."""
    from .services import integrations

    app = current_app._get_current_object()
    if not integrations.effective().mqtt_url:
        raise click.UsageError("ALERTING_MQTT_URL is not set (and no MQTT URL is saved on "
                               "the Integrations page)")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    running = workers.launch(app, ["matcher", "mqtt"] if matcher else ["mqtt"])
    click.echo(f"mqtt subscriber {os.getpid()} running", err=True)
    while not stop.wait(1.0):
        if not all(loop.alive for loop in running):
            workers.stop(app)
            raise click.ClickException("a loop ended; see the log above")
    workers.stop(app)
    click.echo(f"mqtt subscriber {os.getpid()} stopped", err=True)


def register(app: Flask) -> None:
    app.cli.add_command(keys_cli)
    app.cli.add_command(rules_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(worker)
    app.cli.add_command(simulate)
    app.cli.add_command(mqtt)
