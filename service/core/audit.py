"""The audit log: the journal (core/journal.py) read and written under the names its callers use."""

from service.core.journal import JournalEntry as AuditEntry
from service.core.journal import list_entries, record

__all__ = ["AuditEntry", "list_entries", "record"]
