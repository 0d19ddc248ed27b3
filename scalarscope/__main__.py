import sys

from scalarscope.cli import main

sys.exit(main())
