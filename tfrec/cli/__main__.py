"""``python -m tfrec.cli``: the ``tfrec`` console script."""

import sys

from tfrec.cli.main import main

sys.exit(main())
