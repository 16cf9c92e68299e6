"""Logging in to the pages through Flask's test client."""

from __future__ import annotations

import re

from tests.support.app import ADMIN_PASSWORD

PAGES = ["/login", "/live", "/rules", "/rules/new", "/events", "/cameras", "/alerts",
         "/notifications", "/keys", "/modes", "/account/password", "/silences", "/audit",
         "/config", "/integrations"]


def csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()


def login(client):
    page = client.get("/login")
    client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                "csrf_token": csrf_token(page.data)})
