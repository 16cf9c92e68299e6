"""Use cases shared by the JSON API and the pages."""
