"""Loads the facts of the source documents (`data/*.yaml`) into the database, idempotently."""
