"""`flask --app app ...` commands: keys and users (worker and simulate join later)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .engine.errors import ValidationError
from .extensions import db
from .models import User
from .services import keys, users

keys_cli = AppGroup("keys", help="Create, list and revoke API keys.")
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
    users.create_user(username, password)
    click.echo(f"Created user {username}")


@users_cli.command("set-password")
@click.argument("username")
@click.password_option()
def set_password(username: str, password: str) -> None:
    """Set a user's password."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    users.set_password(user, password)
    click.echo(f"Password set for {username}")


def register(app: Flask) -> None:
    app.cli.add_command(keys_cli)
    app.cli.add_command(users_cli)
