from repairs.cli import main

raise SystemExit(main())
