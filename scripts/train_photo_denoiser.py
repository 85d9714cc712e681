"""Train the photo denoiser from a checkout without installing it (e.g. on a GPU machine).

    python scripts/train_photo_denoiser.py --device cuda --minutes 10      # photo-gray and photo-colour

The same as `ae-core photo train ...` (see `ae-core photo train --help` for the options).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["photo", "train", *sys.argv[1:]]))
