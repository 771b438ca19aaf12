"""Yearly actuals posted by agencies: revisions, review, progress against targets, CSV import."""
