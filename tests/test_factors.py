"""The disentanglement metrics against their published definitions, on codes with known answers:
the code equal to the factors, a rotation of it, a permutation of its units, pure noise, and small
cases computed by hand (ae_core.analysis.factors)."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from ae_core.analysis import factors as F


def _grid(levels=(4, 5, 6), seed=0, n=3000):
    """Factors drawn uniformly on a grid, (n, K) integer levels."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, n) for k in levels], 1)


def _code_of(f, seed=0, noise=0.01):
    """The factors themselves as a code (each level scaled to [0, 1]) with a little noise."""
    rng = np.random.default_rng(seed)
    return f / f.max(0) + noise * rng.standard_normal(f.shape)


def _rotation(d, seed=1):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


def _halves(c, f):
    h = len(c) // 2
    return c[:h], f[:h], c[h:], f[h:]


@pytest.fixture(scope="module")
def cases():
    f = _grid()
    code = _code_of(f)
    return {"factors": f, "code": code, "rotated": code @ _rotation(3), "permuted": code[:, [2, 0, 1]],
            "noise": np.random.default_rng(5).standard_normal(code.shape)}


def test_mutual_information_matches_sklearns_mutual_info_score():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 500)
    b = (a + rng.integers(0, 3, 500)) % 7
    ours = F.mutual_info_matrix(a[:, None], b[:, None])[0, 0]
    assert ours == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    assert F.entropy(np.array([0, 0, 1, 1])) == pytest.approx(np.log(2))


def test_discretize_is_equal_width_bins_over_each_units_range():
    x = np.array([[0.0], [0.49], [0.51], [1.0]])
    assert F.discretize(x, 2)[:, 0].tolist() == [1, 1, 2, 2]


def test_mig_by_hand_one_factor_two_units():
    # factor with 2 equiprobable levels; unit 0 copies it (MI = log 2), unit 1 is constant (MI 0):
    # gap = (log 2 - 0) / H = 1. Then unit 1 copies it too: the gap closes to 0.
    f = np.array([0, 1] * 50)[:, None]
    code = np.stack([f[:, 0].astype(float), np.zeros(100)], 1)
    assert F.mig(code, f) == pytest.approx(1.0)
    assert F.mig(np.stack([f[:, 0], f[:, 0]], 1).astype(float), f) == pytest.approx(0.0)


def test_mig_code_equal_to_factors_near_1_rotation_lower_permutation_same_noise_near_0(cases):
    f = cases["factors"]
    m = {k: F.mig(cases[k], f) for k in ("code", "rotated", "permuted", "noise")}
    assert m["code"] > 0.9
    assert m["rotated"] < m["code"] - 0.3
    assert m["permuted"] == pytest.approx(m["code"], abs=1e-12)
    assert m["noise"] < 0.05


def test_dci_from_importance_by_hand():
    assert F.dci_from_importance(np.eye(3)) == pytest.approx((1.0, 1.0))
    assert F.dci_from_importance(np.ones((3, 3))) == pytest.approx((0.0, 0.0), abs=1e-12)
    # R = [[1, 1], [2, 0]]: unit 0 splits evenly (D_0 = 0), unit 1 is pure (D_1 = 1), weights 2/4 and 2/4
    # -> D = 0.5. Factor 0's column (1, 2)/3 has entropy H2 = 0.9183 -> C_0 = 0.0817; factor 1's (1, 0)
    # is pure -> C_1 = 1; C = mean = 0.5408.
    h = -(1 / 3 * np.log2(1 / 3) + 2 / 3 * np.log2(2 / 3))
    d, c = F.dci_from_importance(np.array([[1.0, 1.0], [2.0, 0.0]]))
    assert d == pytest.approx(0.5)
    assert c == pytest.approx(((1 - h) + 1) / 2)


def test_dci_code_equal_to_factors_near_1_rotation_lower_permutation_same_noise_near_0(cases):
    f = cases["factors"]
    s = {k: F.dci(*_halves(cases[k], f)) for k in ("code", "rotated", "permuted", "noise")}
    assert s["code"]["dci_disentanglement"] > 0.9 and s["code"]["dci_completeness"] > 0.9
    assert s["code"]["dci_informativeness"] > 0.95  # every level is readable from its unit
    assert s["rotated"]["dci_disentanglement"] < s["code"]["dci_disentanglement"] - 0.3
    assert s["permuted"]["dci_disentanglement"] == pytest.approx(s["code"]["dci_disentanglement"], abs=0.02)
    assert s["noise"]["dci_disentanglement"] < 0.1
    # noise predicts a factor of 4-6 levels at chance: about 1/5 on average
    assert s["noise"]["dci_informativeness"] < 0.3


def test_sap_by_hand_a_binary_factor_read_by_one_unit():
    # unit 0 separates the two levels perfectly (accuracy 1), unit 1 is noise (accuracy about 0.5):
    # SAP = 1 - 0.5 = 0.5.
    rng = np.random.default_rng(0)
    f = rng.integers(0, 2, (4000, 1))
    code = np.stack([f[:, 0] + 0.05 * rng.standard_normal(4000), rng.standard_normal(4000)], 1)
    assert F.sap(*_halves(code, f)) == pytest.approx(0.5, abs=0.05)


def test_sap_code_equal_to_factors_beats_rotation_and_noise(cases):
    f = cases["factors"]
    s = {k: F.sap(*_halves(cases[k], f)) for k in ("code", "rotated", "permuted", "noise")}
    assert s["code"] > s["rotated"] + 0.05
    assert s["permuted"] == pytest.approx(s["code"], abs=1e-9)
    assert s["noise"] < 0.05


def test_factor_vae_score_one_for_the_factors_chance_for_noise(cases):
    f = cases["factors"]
    assert F.factor_vae_score(cases["code"], f) == pytest.approx(1.0)
    assert F.factor_vae_score(cases["permuted"], f) == pytest.approx(1.0)
    # noise: the least-variance unit says nothing of the fixed factor: about 1/3 of votes are right
    assert F.factor_vae_score(cases["noise"], f) < 0.5
    # by hand: with two units copying factor 0 and one copying factor 1, factor 2 has no unit of its
    # own, so its votes (a third of them) are always wrong: the score is at most 2/3
    two = np.stack([f[:, 0], f[:, 0] + 0.01, f[:, 1]], 1).astype(float)
    assert F.factor_vae_score(two, f) <= 2 / 3 + 0.05


def test_factor_metrics_has_every_key_and_unit_factors_names_each_units_factor(cases):
    f = cases["factors"]
    out = F.factor_metrics(*_halves(cases["permuted"], f))
    assert tuple(out) == F.KEYS and all(0 <= v <= 1 for v in out.values())
    units = F.unit_factors(cases["permuted"], f, ["a", "b", "c"])
    assert [u.factor for u in units] == ["c", "a", "b"]  # the permutation [2, 0, 1]
    assert all(u.share > 0.9 and u.runner_up_share < 0.1 for u in units)


def test_binned_cuts_at_quantiles_and_mnist_like_data_gets_its_pixel_attributes():
    levels, names = F.binned(np.arange(100), 4)
    assert np.bincount(levels).tolist() == [25, 25, 25, 25] and len(names) == 4
    from ae_core.data import load_digits

    ds = load_digits()
    fac, names, lv, known = F.dataset_factors(ds)
    assert names == ["ink", "slant", "width", "height"] and not known
    assert fac.shape == (len(ds), 4) and all(fac[:, k].max() < len(lv[k]) for k in range(4))


def test_lecture_sentence_names_the_spread_and_the_units_computed_from_the_matrices():
    base = np.full((3, 2), 0.3)  # every unit carries 30% of each factor
    ours = np.array([[0.9, 0.0], [0.0, 0.05], [0.0, 0.8]])
    s = F.lecture_sentence("tcvae", ours, 0.7, "PCA", base, 0.0, ["x", "y"])
    assert s == ("PCA spreads x over 3 units (the best holds 30%), y over 3 units (the best holds 30%); tcvae puts "
                 "x on unit 0 (90%), y on unit 2 (80%). MIG over every factor: tcvae 0.70, PCA 0.00 (1: each factor on "
                 "one unit of its own).")
    assert F.lecture_sentence("ae", base, 0.0, "PCA", base, 0.0, ["x", "y"]).startswith("ae separates the factors "
                                                                                          "no better than PCA")
