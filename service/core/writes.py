"""Admin save/remove of any entity: the journal's (core/journal.py) audited writes under the names callers use."""

from service.core.journal import remove, reserve_entry_id, save, snapshot

__all__ = ["remove", "reserve_entry_id", "save", "snapshot"]
