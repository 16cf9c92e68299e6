"""Fixtures of the page tests: a logged-in client's CSRF token, an API key's headers."""

import pytest

from tests.support.app import make_key
from tests.support.pages import log_in


@pytest.fixture
def token(client):
    return log_in(client)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}
