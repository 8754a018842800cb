"""Front end: user source → core language."""
