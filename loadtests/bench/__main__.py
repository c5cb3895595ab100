import sys

from loadtests.bench.runner import main

sys.exit(main())
