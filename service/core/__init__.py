"""Plumbing every domain uses. Imports no domain."""
