"""The official Wan command line: `python generate.py --task ... --ckpt_dir ...` runs kino."""

import sys

from kino.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
