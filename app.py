"""Entry point for `flask --app app` and gunicorn (`app:app`)."""

import sys

from alerting import create_app
from alerting.config import SettingsError

try:
    app = create_app()
except SettingsError as exc:  # a bad ALERTING_* value: its one line, not a traceback
    sys.exit(f"alerting: {exc}")
