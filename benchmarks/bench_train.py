"""Training throughput of ae_core's fit() against a minimal hand-written PyTorch loop.

Same model architecture, same data, same batch size, same optimiser; the two
are run alternately in one process (so load on the machine hits both alike)
and the median examples/second of each is compared. Prints ratio = ours / plain.

    .venv/bin/python benchmarks/bench_train.py [--rounds 5] [--device cpu]

Runs on digits always, and on the MNIST test set (../shared/data/mnist) when present.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import default_mnist_dir, load_dataset
from ae_core.models import build_model
from ae_core.train import fit, pick_device, set_threads


def plain_loop(model, x: torch.Tensor, epochs: int, batch_size: int, lr: float) -> float:
    """The reference: what one would write by hand for data already in memory."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(x), device=x.device)
        for i in range(0, len(x), batch_size):
            xb = x[perm[i : i + batch_size]]
            x_hat = model.decode(model.encode(xb))
            loss = torch.nn.functional.mse_loss(x_hat, xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * len(x) / (time.perf_counter() - t0)


def ours(model, x_np, epochs: int, batch_size: int, lr: float, device: str) -> float:
    # No validation split and no grad clipping: the plain loop does neither, so the
    # comparison measures the loop itself (batching, callbacks, bookkeeping).
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, val_fraction=0.0, patience=0,
                      grad_clip=0.0, device=device)
    h = fit(model, x_np, cfg)
    return h.examples_per_second


def bench(name: str, x_np, code_dim: int, hidden, epochs: int, batch_size: int, rounds: int, device: str):
    dev = pick_device(device)
    cfg = ModelConfig(kind="undercomplete", input_shape=tuple(x_np.shape[1:]), code_dim=code_dim, hidden=hidden)
    xt = torch.as_tensor(x_np, device=dev)
    # Warm-up both (allocator, kernels) before timing.
    plain_loop(build_model(cfg).to(dev), xt, 1, batch_size, 1e-3)
    ours(build_model(cfg), x_np, 1, batch_size, 1e-3, device)
    a, b = [], []
    for _ in range(rounds):
        torch.manual_seed(0)
        a.append(ours(build_model(cfg), x_np, epochs, batch_size, 1e-3, device))
        torch.manual_seed(0)
        b.append(plain_loop(build_model(cfg).to(dev), xt, epochs, batch_size, 1e-3))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:<16} {len(x_np):>6} imgs  batch {batch_size:>4}  fit() {ma:>10,.0f} ex/s   "
          f"plain {mb:>10,.0f} ex/s   ratio ours/plain = {ma / mb:.3f}")
    return ma / mb


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    n = set_threads(a.threads)
    print(f"device {a.device}, torch threads {n}, torch {torch.__version__}")
    digits = load_dataset("digits")
    ratios = [bench("digits", digits.x, 16, (256,), 5, 64, a.rounds, a.device)]
    if default_mnist_dir() is not None:
        mnist = load_dataset("mnist")
        ratios.append(bench("mnist (10k)", mnist.x, 32, (512,), 1, 128, a.rounds, a.device))
    else:
        print("MNIST test set not found (../shared/data/mnist or $LSE_MNIST_DIR): skipped")
    print(f"worst ratio ours/plain = {min(ratios):.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
