"""`python -m premortem.dev new rule|analyzer|scenario CODE [--summary TEXT] [--root DIR]`."""

from __future__ import annotations

import sys

from premortem.dev.scaffold import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
