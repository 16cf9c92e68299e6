"""Entry point for `flask --app app` and gunicorn (`app:app`)."""

from alerting import create_app

app = create_app()
