import sys

from ttmrpp.cli import main

sys.exit(main())
