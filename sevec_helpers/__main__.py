"""``python -m sevec_helpers``: the ``sevec`` command."""

import sys

from .cli import main

sys.exit(main())
