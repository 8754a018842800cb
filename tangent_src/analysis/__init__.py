"""Analyses over the core language: activity, liveness."""
