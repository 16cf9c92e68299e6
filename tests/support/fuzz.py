"""Hypothesis example counts that follow the loaded profile (tests/conftest.py registers them).

A test written `@settings(max_examples=examples(400))` runs 400 examples under the full profile
(`make test`) and a fifth of that under the fast one (`make test-fast`), like the tests that
leave max_examples to the profile.
"""

from hypothesis import settings
from hypothesis import strategies as st

FULL_EXAMPLES = 100  # max_examples of the full profile: Hypothesis's own default


def examples(n: int) -> int:
    """`n` scaled by the loaded profile's max_examples against the full profile's."""
    return max(10, n * settings.default.max_examples // FULL_EXAMPLES)


# Any code point, lone surrogates included (json.loads produces them from "\ud800").
TEXT = st.one_of(st.text(max_size=20), st.text(max_size=3).map(lambda t: t + "\udc80"))


def json_junk(interesting: list, keys: tuple[str, ...]):
    """(scalars, any JSON value): anything a body may hold, with `interesting` strings and
    objects keyed mostly by `keys`, for fuzzing a schema."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400)),
        st.floats(), TEXT, st.sampled_from(interesting),
    )
    names = st.one_of(TEXT, st.sampled_from(keys))
    return scalars, st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
        max_leaves=12,
    )


def near(values, junk):
    """Mostly plausible values, sometimes anything at all."""
    return st.one_of(st.sampled_from(values), junk)
