"""Pure matching engine: plain dataclasses in, plain verdicts out. No Flask, no SQLAlchemy."""
