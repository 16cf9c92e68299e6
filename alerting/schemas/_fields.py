"""Names the event, notification settings and VideoDB schemas import; defined in common.py."""

from .common import (  # noqa: F401 - re-exported
    EmailList,
    FastFraction,
    JsonObject,
    ModelList,
    OptionalEmail,
    OptionalHttpUrl,
    PushUrlList,
    Says,
    TextList,
    blank_is_none,
    nullable_choice,
    translate,
)
from .common import optional_text as OptionalText  # noqa: F401, N812
from .common import text as Text  # noqa: F401, N812


def explainer(model):  # noqa: ANN001, ANN201 - the older spelling of translate(exc, model)
    """The translation of `model`'s errors (common.translate with its field messages)."""
    return lambda exc: translate(exc, model)
