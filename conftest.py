"""Tests import this checkout's sandbox package, even where another checkout's is installed.

The sandbox is its own distribution (`release-sandbox`, in ./sandbox), which
`make install` installs in editable mode beside the tool. A venv shared by several
checkouts of the repository has one of them installed; putting ./sandbox first on
the path (here and for the subprocesses tests start, which read PYTHONPATH) makes
every checkout test its own copy of the emulator against its own tool.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SANDBOX = str(Path(__file__).resolve().parent / "sandbox")

if SANDBOX not in sys.path:
    sys.path.insert(0, SANDBOX)
_paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
if SANDBOX not in _paths:
    os.environ["PYTHONPATH"] = os.pathsep.join([SANDBOX, *_paths])
