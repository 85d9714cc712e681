"""Train the photo denoiser from a checkout without installing it (e.g. on a GPU machine).

    python scripts/train_photo_denoiser.py --out checkpoints/photo-dncnn --device cuda --minutes 6

Same as `ae-core zoo --photo`; see ae_core/photo_cli.py for the options.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core.photo_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
