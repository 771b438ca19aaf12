"""Interior sector service: strategy, indicator measurements and the international-organisation registry."""
