"""The registry as open data: whole exports for integrators and open-data portals."""
