"""Hypothesis example counts that follow the loaded profile (tests/conftest.py registers them).

A test written `@settings(max_examples=examples(400))` runs 400 examples under the full profile
(`make test`) and a fifth of that under the fast one (`make test-fast`), like the tests that
leave max_examples to the profile.
"""

from hypothesis import settings

FULL_EXAMPLES = 100  # max_examples of the full profile: Hypothesis's own default


def examples(n: int) -> int:
    """`n` scaled by the loaded profile's max_examples against the full profile's."""
    return max(10, n * settings.default.max_examples // FULL_EXAMPLES)
