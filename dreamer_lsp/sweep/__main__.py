import sys

from dreamer_lsp.sweep import cli

sys.exit(cli.main())
