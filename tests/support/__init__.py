"""Helpers shared by the tests and bench/: apps, factories, servers, receivers, databases.

Test modules import helpers from here only, never from one another (tests/test_layout.py).
"""
