"""Strategies: policy areas, priority goals, indicators with baseline and targets, action directions, tasks."""
