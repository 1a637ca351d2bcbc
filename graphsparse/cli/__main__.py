"""``python -m graphsparse.cli``."""

from . import main

raise SystemExit(main())
