from loomflow.cli import main

raise SystemExit(main())
