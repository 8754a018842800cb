"""Transformations of the core language: reverse (and later forward) mode."""
