"""Who owns the tasks a request may see (SPEC.md section 7)."""

from flask import current_app


def current_owner() -> str:
    """The caller's owner id; with auth off every task belongs to one local owner."""
    return current_app.config["LOCAL_OWNER"]
