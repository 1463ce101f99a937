import sys

from xray_core.cli.main import main

sys.exit(main())
