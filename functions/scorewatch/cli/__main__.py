import sys

from scorewatch.cli import main

sys.exit(main())
