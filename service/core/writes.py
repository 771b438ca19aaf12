"""Admin save/remove of any entity: the journal's (core/journal.py) audited writes under the names callers use."""

from service.core.journal import remove, save, snapshot

__all__ = ["remove", "save", "snapshot"]
