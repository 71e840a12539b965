"""PyInstaller runtime hook, run before Engram's code in the installed bundle.

* The offline seed models travel inside the bundle (``models/``); a user's own
  ENGRAM_SEED_MODELS still wins.
* The bootloader points LD_LIBRARY_PATH at the bundle so that its own libraries
  load; programs Engram starts (tesseract, a browser) must use the system's, so
  the variable is put back as it was for them.  This process's loader read it
  at start-up and is not affected.
"""

import os
import sys

os.environ.setdefault("ENGRAM_SEED_MODELS", os.path.join(sys._MEIPASS, "models"))

_original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
if _original is not None:
    os.environ["LD_LIBRARY_PATH"] = _original
else:
    os.environ.pop("LD_LIBRARY_PATH", None)
