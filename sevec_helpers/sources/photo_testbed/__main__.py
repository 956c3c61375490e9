"""``python -m sevec_helpers.sources.photo_testbed [--status] [--dest DIR]``: fetch the photo
testbed's files (see :mod:`sevec_helpers.sources.photo_testbed.fetch`)."""

import sys

from sevec_helpers.sources.photo_testbed.fetch import main

sys.exit(main())
