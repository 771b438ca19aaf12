"""Institutions, international organisations, memberships, engagements and representations."""
