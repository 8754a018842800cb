"""Back ends: print generated gast as source and load it as a module."""
