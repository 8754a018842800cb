"""Run the tangent_src command line from a checkout: ``python cli.py grad mod.py:func``."""
import sys

from tangent_src.cli import main

if __name__ == "__main__":
    sys.exit(main())
