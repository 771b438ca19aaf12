"""The changes feed: every journaled change, in commit order, for integrators' sync (REST and GraphQL)."""
