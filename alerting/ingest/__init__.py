"""Adapters feeding the services from other sources than the HTTP API (MQTT: Frigate)."""
