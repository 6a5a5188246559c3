"""Claude Code runs this before (PreToolUse) and after (PostToolUse) tool calls.

Kept tiny so it starts fast: it finds faber-db's package through this file's
path (never through the plugin folder's name) and hands over to
faber_db.guard.hook, which imports only what the call needs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faber_db.guard.hook import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
