"""`python -m tangent_src ...`: the command line (the same as `tangent-src ...`)."""
import sys

from .cli import main

sys.exit(main())
