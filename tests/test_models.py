"""Every model behind one interface, and each penalty against a reference: the contractive
Jacobian against central differences, KL terms against hand computations, PCA against the SVD
and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.config import ModelConfig
from ae_core.models import (
    REGISTRY,
    Autoencoder,
    ContractiveAutoencoder,
    PCAModel,
    build_model,
    decode_array,
    encode_array,
    reconstruct_array,
)

from every_model import BASE, CASES, CODE, IDS, SHAPE, VARIANTS  # noqa: E402 - the shared table


def make(variant: str, arch: str = "mlp", seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    fields = {**BASE, **VARIANTS[variant][0], "arch": arch, **kw}
    model = build_model(ModelConfig(**fields))
    if isinstance(model, PCAModel):
        model.fit(np.random.default_rng(seed).random((40, *fields["input_shape"]), dtype=np.float32))
    return model


def batch(n=12, seed=0, shape=SHAPE, dtype=torch.float32):
    return torch.rand((n, *shape), generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_variants_cover_every_registered_kind():
    covered = {VARIANTS[v][0]["kind"] for v in VARIANTS}
    # the photo denoiser and an imported embedding have their own tests (test_photo_*, test_embeddings)
    assert covered == set(REGISTRY) - {"photo_denoiser", "embedding"}


@pytest.mark.parametrize("variant,arch", CASES, ids=IDS)
def test_encode_decode_forward_shapes(variant, arch):
    model = make(variant, arch)
    x = batch(5)
    h = model.encode(x)
    assert h.shape == (5, CODE)
    assert model.decode(h).shape == x.shape
    x_hat, h2 = model(x)
    assert x_hat.shape == x.shape and h2.shape == (5, CODE)
    assert encode_array(model, x.numpy()).shape == (5, CODE)
    rec = reconstruct_array(model, x.numpy(), batch_size=2)  # batching must not change results
    assert rec.shape == x.shape and rec.dtype == np.float32 and rec.min() >= 0 and rec.max() <= 1
    np.testing.assert_allclose(rec, reconstruct_array(model, x.numpy()), atol=1e-6)
    assert decode_array(model, h.detach().numpy()).shape == x.shape


@pytest.mark.parametrize("variant,arch", CASES, ids=IDS)
def test_loss_is_finite_with_the_documented_parts(variant, arch):
    model = make(variant, arch)
    model.train()
    total, parts = model.loss(batch())
    assert set(parts) == VARIANTS[variant][1]
    assert total.dim() == 0 and torch.isfinite(total)
    assert all(p.dim() == 0 and torch.isfinite(p) and p >= 0 for p in parts.values())
    assert torch.allclose(total, sum(parts.values()))


@pytest.mark.parametrize("variant,arch", CASES, ids=IDS)
def test_gradients_reach_every_parameter(variant, arch):
    model = make(variant, arch)
    if variant == "pca":
        assert list(model.parameters()) == []  # closed form: buffers only
        assert {n for n, _ in model.named_buffers()} == {"mean", "components", "explained_variance"}
        return
    model.train()
    total, _ = model.loss(batch(32))
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} gets no gradient"
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} has an all-zero gradient"


@pytest.mark.parametrize("variant,arch", CASES, ids=IDS)
def test_eval_mode_is_deterministic(variant, arch):
    model = make(variant, arch).eval()
    x = batch()
    with torch.no_grad():
        a, ha = model(x)
        b, hb = model(x)
    assert torch.equal(a, b) and torch.equal(ha, hb)
    if variant != "contractive-jvp":  # the jvp penalty is a random estimate by design
        assert torch.equal(model.loss(x)[0], model.loss(x)[0])


@pytest.mark.parametrize("variant", ["denoising-gaussian", "vae"])
def test_training_mode_is_stochastic_where_it_should_be(variant):
    # denoising corrupts its input and the VAE samples z only while training
    model = make(variant).train()
    x = batch()
    assert not torch.equal(model.loss(x)[0], model.loss(x)[0])


def test_denoising_loss_compares_with_the_clean_input(monkeypatch):
    model = make("denoising-gaussian").train()
    seen = {}
    orig = model.reconstruction_loss

    def spy(logits, target):
        seen["target"] = target
        return orig(logits, target)

    monkeypatch.setattr(model, "reconstruction_loss", spy)
    x = batch()
    model.loss(x)
    assert seen["target"] is x


# ----------------------------------------------------------------- contractive vs finite differences
def fd_jacobian(model, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences of encode at each sample: (B, code, pixels), float64."""
    b, n = x.shape[0], x[0].numel()
    jac = torch.zeros(b, model.config.code_dim, n, dtype=torch.float64)
    flat = x.reshape(b, n)
    with torch.no_grad():
        for i in range(n):
            e = torch.zeros_like(flat)
            e[:, i] = eps
            plus = model.encode((flat + e).reshape(x.shape))
            minus = model.encode((flat - e).reshape(x.shape))
            jac[:, :, i] = (plus - minus) / (2 * eps)
    return jac


def contractive64(arch="mlp", **kw):
    torch.manual_seed(0)
    cfg = ModelConfig(kind="contractive", input_shape=(1, 5, 5), code_dim=4, arch=arch,
                      contractive_weight=0.3, **kw)
    return build_model(cfg).double()


def test_closed_form_contractive_penalty_matches_finite_differences():
    model = contractive64(hidden=(), code_activation="sigmoid", jacobian="closed")
    assert model.jacobian_mode() == "closed"
    x = batch(6, shape=(1, 5, 5), dtype=torch.float64)
    ref = (fd_jacobian(model, x) ** 2).sum((1, 2))
    got = model.jacobian_norm_sq(x)
    assert torch.allclose(got, ref, rtol=1e-6, atol=0)
    # and the loss term is lambda * the batch mean of it
    _, parts = model.loss(x)
    assert torch.allclose(parts["contractive"], 0.3 * ref.mean(), rtol=1e-6)


@pytest.mark.parametrize(
    "arch,activation,code_activation",
    [("mlp", "tanh", "linear"), ("mlp", "sigmoid", "sigmoid"), ("mlp", "elu", "tanh"), ("conv", "tanh", "sigmoid")],
)
def test_exact_deep_contractive_penalty_matches_finite_differences(arch, activation, code_activation):
    model = contractive64(arch=arch, hidden=(32,), conv_channels=(4,), activation=activation,
                          code_activation=code_activation, jacobian="exact")
    x = batch(5, shape=(1, 5, 5), dtype=torch.float64)
    ref = (fd_jacobian(model, x) ** 2).sum((1, 2))
    got = model.jacobian_norm_sq(x)
    assert ((got - ref).abs() / ref).max() < 1e-6


def test_closed_form_refuses_a_deep_encoder():
    model = contractive64(hidden=(32,), code_activation="sigmoid", jacobian="exact")
    with pytest.raises(ValueError, match="closed"):
        model.jacobian_norm_sq(batch(2, shape=(1, 5, 5), dtype=torch.float64), mode="closed")


def test_jvp_estimate_is_unbiased():
    model = contractive64(hidden=(32,), activation="tanh", code_activation="sigmoid", jacobian="jvp",
                          n_projections=64)
    x = batch(8, shape=(1, 5, 5), dtype=torch.float64)
    exact = model.jacobian_norm_sq(x, mode="exact").detach()
    torch.manual_seed(0)
    with torch.no_grad():  # 320 copies of each image x 8 projections, in one batched call
        est = model.jacobian_norm_sq(x.repeat(320, 1, 1, 1), mode="jvp").view(320, 8).mean(0)
    # 2,560 projections per sample: relative std of the mean ~ sqrt(2/2560) ~ 3% per sample
    assert abs(est.mean() / exact.mean() - 1) < 0.03
    assert ((est - exact).abs() / exact).max() < 0.12
    # a single projection is noisy but still a sample of the same quantity
    one = contractive64(hidden=(32,), activation="tanh", code_activation="sigmoid", jacobian="jvp")
    assert not torch.allclose(one.jacobian_norm_sq(x), exact, rtol=0.01)


def test_jvp_penalty_trains_the_encoder():
    model = contractive64(hidden=(8,), jacobian="jvp", n_projections=2).float().train()
    _, parts = model.loss(batch(16, shape=(1, 5, 5)))
    parts["contractive"].backward()
    # J_f depends on every encoder weight (not on the code layer's bias, which only shifts h)
    enc = [p for n, p in model.named_parameters() if n.startswith("encoder") and n.endswith("weight")]
    assert len(enc) == 2 and all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc)


@pytest.mark.parametrize(
    "kw,mode",
    [(dict(hidden=(), code_activation="sigmoid"), "closed"), (dict(hidden=(16,)), "exact"),
     (dict(hidden=(), code_activation="relu"), "exact"), (dict(hidden=(16,), code_dim=65), "jvp")],
)
def test_auto_jacobian_mode(kw, mode):
    model = build_model(ModelConfig(kind="contractive", **kw))
    assert isinstance(model, ContractiveAutoencoder) and model.jacobian_mode() == mode


# ----------------------------------------------------------------- sparse and VAE penalties
def test_topk_keeps_exactly_k_largest_per_row():
    model = make("sparse-topk", code_dim=12, top_k=4).eval()
    x = batch(20)
    h = model.encode(x)
    dense = Autoencoder.encode(model, x)  # the code before the top-k selection
    assert ((h != 0).sum(1) == 4).all()
    kept = torch.where(h != 0, dense, torch.full_like(dense, float("nan")))
    np.testing.assert_array_equal(torch.sort(h[h != 0].view(20, 4), 1).values.detach().numpy(),
                                  torch.sort(dense.topk(4, 1).values, 1).values.detach().numpy())
    assert torch.equal(kept[h != 0], dense[h != 0])


def test_l1_penalty_equals_hand_computation():
    model = make("sparse-l1", sparsity_weight=0.25)
    h = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, -0.5]])
    # mean over images of sum_j |h_j|: (3 + 1.5) / 2
    assert torch.allclose(model.penalty(None, h)["sparsity"], torch.tensor(0.25 * 2.25))


def test_kl_sparsity_penalty_equals_hand_computation():
    model = make("sparse-kl", sparsity_target=0.1, sparsity_weight=0.5)
    h = torch.tensor([[0.2, 0.9, 0.05], [0.4, 0.7, 0.15]], dtype=torch.float64)
    rho = 0.1
    total = 0.0
    for rho_hat in (0.3, 0.8, 0.1):  # column means
        total += rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    got = model.penalty(None, h)["sparsity"].item()
    assert got == pytest.approx(0.5 * total, rel=1e-12)
    # at the target rate the penalty vanishes
    assert model.penalty(None, torch.full((3, 4), rho, dtype=torch.float64))["sparsity"].item() == pytest.approx(0)


def test_vae_kl_equals_the_closed_form(monkeypatch):
    model = make("vae", beta=2.0).eval()
    mu = torch.tensor([[0.0, 1.0, -2.0, 0.5, 0.0, 3.0], [1.0, 0.0, 0.0, -1.0, 2.0, 0.1]])
    logvar = torch.tensor([[0.0, 0.0, 1.0, -1.0, 2.0, -3.0], [0.5, -0.5, 0.0, 0.0, 0.0, 1.0]])
    monkeypatch.setattr(model, "encode_stats", lambda x: (mu, logvar))
    x = batch(2)
    _, parts = model.loss(x)
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 (s^2 + mu^2 - 1 - log s^2), summed over units, mean over images
    s2 = np.exp(logvar.numpy().astype(np.float64))
    kl = 0.5 * (s2 + mu.numpy() ** 2 - 1 - logvar.numpy()).sum(1).mean()
    assert parts["kl"].item() == pytest.approx(2.0 * kl / 64, rel=1e-6)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                            torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    assert parts["kl"].item() == pytest.approx(2.0 * ref.item() / 64, rel=1e-5)


def test_vae_kl_is_zero_for_the_prior(monkeypatch):
    model = make("vae").eval()
    monkeypatch.setattr(model, "encode_stats", lambda x: (torch.zeros(3, CODE), torch.zeros(3, CODE)))
    assert model.loss(batch(3))[1]["kl"].item() == 0.0


# ----------------------------------------------------------------- PCA
def test_pca_equals_svd_and_sklearn(digits_split):
    from sklearn.decomposition import PCA

    train, test = digits_split
    model = build_model(ModelConfig(kind="pca", code_dim=16)).fit(train.x)
    sk = PCA(n_components=16, svd_solver="full").fit(train.flat())

    comps = model.components.numpy()
    signs = np.sign((comps * sk.components_).sum(1))
    assert (np.abs(signs) == 1).all()
    np.testing.assert_allclose(comps * signs[:, None], sk.components_, atol=1e-5)
    np.testing.assert_allclose(model.explained_variance.numpy(), sk.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(model.mean.numpy(), sk.mean_, atol=1e-6)

    ours = ((reconstruct_array(model, test.x) - test.x) ** 2).mean()
    theirs = ((np.clip(sk.inverse_transform(sk.transform(test.flat())), 0, 1) - test.flat()) ** 2).mean()
    assert ours == pytest.approx(theirs, rel=1e-4)

    # the SVD itself: the first component is the top right-singular vector of the centred data
    xc = train.flat().astype(np.float64) - train.flat().mean(0)
    v1 = np.linalg.svd(xc, full_matrices=False)[2][0]
    assert abs(abs(v1 @ comps[0].astype(np.float64)) - 1) < 1e-5
    # codes are the projections on the components
    np.testing.assert_allclose(np.abs(encode_array(model, test.x)), np.abs(sk.transform(test.flat())), atol=1e-4)


def test_pca_refuses_more_components_than_samples():
    model = build_model(ModelConfig(kind="pca", code_dim=16))
    with pytest.raises(ValueError, match="code_dim"):
        model.fit(np.random.default_rng(0).random((10, 1, 8, 8), dtype=np.float32))


# ----------------------------------------------------------------- overcomplete
def test_overcomplete_model_builds_and_trains(tiny_digits):
    from ae_core.config import TrainConfig
    from ae_core.train import fit

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="undercomplete", code_dim=100, hidden=(), code_activation="relu"))
    assert model.code_dim > tiny_digits.n_features
    history = fit(model, tiny_digits, TrainConfig(epochs=8, batch_size=32, lr=3e-3, threads=1, val_fraction=0))
    losses = history.series("train_loss")
    assert history.stopped == "completed" and losses[-1] < 0.6 * losses[0]
    assert encode_array(model, tiny_digits.x[:3]).shape == (3, 100)


def test_build_model_refuses_an_invalid_config():
    from ae_core.config import ConfigError

    with pytest.raises(ConfigError, match="code_dim"):
        build_model(ModelConfig(code_dim=0))


@pytest.mark.parametrize("arch,extra", [("mlp", dict(hidden=())), ("mlp", dict(hidden=(16,))),
                                        ("conv", dict(conv_channels=())), ("conv", dict(conv_channels=(4,)))])
def test_decoder_output_is_linear_logits_whatever_the_depth(arch, extra):
    """The decoder ends in logits (the sigmoid comes in decode), so reconstructions reach both ends
    of [0, 1]. A conv model without conv layers used to put its hidden ReLU on the logits, which
    kept every pixel at 0.5 or above."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(**{**BASE, "arch": arch, "activation": "relu", **extra}))
    last = [m for m in model.decoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.ConvTranspose2d))][-1]
    with torch.no_grad():
        last.bias.fill_(-6.0)  # strongly negative logits: dark pixels
        dark = model.decode(torch.zeros(2, CODE))
        last.bias.fill_(6.0)
        light = model.decode(torch.zeros(2, CODE))
    assert dark.shape == (2, *SHAPE) and dark.max() < 0.01 and light.min() > 0.99


def _tied(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(**{**BASE, "hidden": (), "tied": True, "output": "linear", **kw}).validate())


def test_tied_decoder_is_the_encoders_weight_transposed():
    """x_hat = W^T h + c with the encoder's own W: one matrix, stored once, trained both ways."""
    model = _tied(kind="sparse", sparsity="topk", code_activation="linear").double()
    w, b, c = model.encoder[1][0].weight, model.encoder[1][0].bias, model.decoder.bias
    x = torch.rand(5, *SHAPE, dtype=torch.float64)
    pre = x.reshape(5, -1) @ w.T + b
    top = pre.topk(3, dim=1)
    h_ref = torch.zeros_like(pre).scatter(1, top.indices, top.values)
    h = model.encode(x)
    assert torch.equal(h, h_ref)
    assert torch.allclose(model.decode(h), (h_ref @ w + c).reshape(5, *SHAPE))
    assert sorted(model.state_dict()) == ["decoder.bias", "encoder.1.0.bias", "encoder.1.0.weight"]
    assert sum(p.numel() for p in model.parameters()) == CODE * 64 + CODE + 64


def test_tied_weight_gradient_matches_finite_differences():
    """W gets the gradient of both its uses (encoder and decoder): autograd against central differences."""
    model = _tied(kind="undercomplete", code_activation="tanh").double()
    w = model.encoder[1][0].weight
    x = torch.rand(4, *SHAPE, dtype=torch.float64)
    model.loss(x)[0].backward()
    eps, rng = 1e-6, np.random.default_rng(0)
    for i, j in zip(rng.integers(0, CODE, 6), rng.integers(0, 64, 6)):
        with torch.no_grad():
            w[i, j] += eps
            up = model.loss(x)[0].item()
            w[i, j] -= 2 * eps
            down = model.loss(x)[0].item()
            w[i, j] += eps
        assert abs(w.grad[i, j].item() - (up - down) / (2 * eps)) < 1e-7


def test_linear_output_is_the_logits_trained_with_mse_and_clamped_only_when_shown():
    model = _tied(kind="undercomplete")
    with torch.no_grad():
        model.decoder.bias.fill_(2.0)  # far above 1: a sigmoid would hide it, clamping shows 1
        x = torch.rand(3, *SHAPE)
        h = model.encode(x)
        logits = model.decode_logits(h)
        assert torch.equal(model.decode(h), logits) and logits.min() > 1.5
        assert torch.allclose(model.loss(x)[1]["reconstruction"], ((logits - x) ** 2).mean())
    assert reconstruct_array(model, x.numpy()).max() == 1.0
    assert decode_array(model, h.numpy()).max() == 1.0
    assert decode_array(model, h.numpy(), clamp=False).min() > 1.5
