"""Action link tokens (services/action_links.py) never reach a log line: they act without a
login, as a password would."""

from alerting.redaction import REDACTED, redact

TOKEN = "WyJhY2tub3dsZWRnZSIsMSwiNGZ6X2VQVWRXdGFYIl0.aTRG5A.0kq-Zz_9x"


def test_an_action_link_token_is_redacted():
    line = f'127.0.0.1 "POST /actions/{TOKEN} HTTP/1.1" 200'
    assert redact(line) == f'127.0.0.1 "POST /actions/{REDACTED} HTTP/1.1" 200'
    quoted = f"ntfy://h/t?actions=http%2C%20Ack%2C%20https%3A%2F%2Fa%2Factions%2F{TOKEN}%2C"
    assert TOKEN not in redact(quoted)


def test_other_paths_are_kept():
    for line in ("GET /actions/help", "GET /alerts/12", "GET /api/alerts/12/acknowledge"):
        assert redact(line) == line
