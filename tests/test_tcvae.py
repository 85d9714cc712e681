"""β-TCVAE (ae_core.models.TCVAE): its total-correlation estimate against the closed form of a
Gaussian's, and its loss against the VAE's, from which it differs by (β - 1) TC only."""

import math

import pytest
import torch

from ae_core.config import ModelConfig
from ae_core.models import build_model, total_correlation


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.8, 0.95])
def test_total_correlation_estimate_matches_a_correlated_gaussians(rho):
    # codes z = mu + 0.1 eps, mu a 2D Gaussian of correlation rho: q(z) is Gaussian with correlation
    # rho / (1 + 0.01), whose TC is -1/2 log(1 - r^2) (0 when independent)
    torch.manual_seed(0)
    m, s = 4000, 0.1
    z1 = torch.randn(m)
    mu = torch.stack([z1, rho * z1 + math.sqrt(1 - rho**2) * torch.randn(m)], 1)
    logvar = torch.full_like(mu, math.log(s * s))
    z = mu + s * torch.randn_like(mu)
    r = rho / (1 + s * s)
    assert float(total_correlation(z, mu, logvar)) == pytest.approx(-0.5 * math.log(1 - r * r), abs=0.06)


def test_tcvae_loss_is_the_vaes_plus_beta_minus_one_times_tc():
    cfg = dict(input_shape=(1, 8, 8), code_dim=4, hidden=(16,))
    vae = build_model(ModelConfig(kind="vae", beta=1.0, **cfg).validate()).eval()
    tc1 = build_model(ModelConfig(kind="tcvae", beta=1.0, **cfg).validate()).eval()
    tc5 = build_model(ModelConfig(kind="tcvae", beta=5.0, **cfg).validate()).eval()
    tc1.load_state_dict(vae.state_dict())
    tc5.load_state_dict(vae.state_dict())
    x = torch.rand(32, 1, 8, 8)
    with torch.no_grad():
        (lv, _), (l1, p1), (l5, p5) = vae.loss(x), tc1.loss(x), tc5.loss(x)
        mu, logvar = vae.encode_stats(x)
    assert float(l1) == pytest.approx(float(lv), rel=1e-6) and float(p1["tc"]) == 0.0
    tc = max(float(total_correlation(mu, mu, logvar)), 0.0) / 64  # eval mode: z is the mean; per pixel
    assert float(l5 - lv) == pytest.approx(4.0 * tc, rel=1e-4, abs=1e-7)
    assert float(p5["tc"]) == pytest.approx(4.0 * tc, rel=1e-4, abs=1e-7)
