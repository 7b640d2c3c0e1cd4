import sys

from ttmrpp.cli.main import main

sys.exit(main())
