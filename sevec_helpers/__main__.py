"""``python -m sevec_helpers``: the ``sevec`` command."""

import sys

from sevec_helpers.cli import main

sys.exit(main())
