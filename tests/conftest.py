"""Shared fixtures: the bundled digits, tiny seeded splits, one torch thread, no network.

Everything here is CPU-only and seeded, so the default suite runs the same on a
laptop, in CI and on a shared two-core box.
"""

from __future__ import annotations

import socket
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# Two shared cores: one thread per test process keeps timings stable and avoids
# oversubscription when several test runs share the machine.
torch.set_num_threads(1)

# Shared machines are slow and noisy: no per-example deadline, and fixtures are fine
# inside @given tests because they are read-only.
settings.register_profile(
    "lse", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("lse")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = str(address[0]) if isinstance(address, tuple) and address else ""
    return host in ("localhost", "::1", "") or host.startswith("127.")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests must never touch the network: any non-loopback connection fails loudly.

    Loopback stays allowed (a Streamlit server under test listens on localhost).
    """

    def guarded(fn):
        def connect(self, address):
            if not _is_local(address):
                raise OSError(f"test tried to reach the network ({address!r}); tests must stay offline")
            return fn(self, address)

        return connect

    def getaddrinfo(host, *args, **kwargs):  # DNS lookups go out too
        if host is not None and not _is_local((host.decode() if isinstance(host, bytes) else host, 0)):
            raise OSError(f"test tried to resolve {host!r}; tests must stay offline")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(_real_connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits: (1797, 1, 8, 8) float32 in [0, 1], labels 0-9."""
    from ae_core.data import load_digits

    return load_digits()


@pytest.fixture(scope="session")
def digits_split(digits):
    """The default 80/20 stratified split with seed 0 (what the CLI and the zoo use)."""
    from ae_core.data import train_test_split

    return train_test_split(digits, 0.2, seed=0)


@pytest.fixture(scope="session")
def tiny_digits(digits):
    """200 digits (20 per class), enough to train a tiny net for a few epochs in well under a second."""
    idx = np.concatenate([np.flatnonzero(digits.y == c)[:20] for c in range(10)])
    return digits.subset(np.sort(idx), "digits:tiny")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_terminal_summary(terminalreporter):
    """The hostile-inputs table, when that file's tests ran (see tests/test_hostile_inputs.py)."""
    mod = sys.modules.get("test_hostile_inputs")
    if mod is not None and getattr(mod, "LEDGER", None):
        mod.write_report(terminalreporter.write_line)
