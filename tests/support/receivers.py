"""Real receivers on loopback for delivery tests: an aiosmtpd SMTP server."""

from __future__ import annotations

from aiosmtpd.controller import Controller

from tests.support.server import free_port


class Collector:
    """An SMTP handler that accepts everything and keeps the envelopes."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def start_smtp(handler, port: int | None = None) -> Controller:
    """A started aiosmtpd server on 127.0.0.1 (stop() it when done)."""
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(),
                            server_hostname="localhost")
    controller.start()
    return controller
