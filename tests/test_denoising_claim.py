"""The denoising claim measured fairly (ae_core.analysis.denoising_claim): one network with and
without input noise, the summary over seeds, the sentence, and the Sparsity page reading the
stored result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ae_core.analysis import denoising_claim as dc

ROOT = Path(__file__).resolve().parent.parent


def _runs(probe, knn, loc):
    return [{"probe_acc_1pct": p, "knn_acc": k, "feature_locality": f, "code_dim": 32} for p, k, f in zip(probe, knn, loc)]


RESULTS = {dc.PLAIN: _runs([0.80, 0.82, 0.81], [0.96, 0.97, 0.965], [0.20, 0.22, 0.21]),
           "Gaussian noise 0.3": _runs([0.84, 0.86, 0.85], [0.97, 0.975, 0.97], [0.19, 0.20, 0.21])}


def test_the_variants_are_one_network_that_differs_only_in_its_input_noise():
    configs = dc.claim_configs(seed=2)
    plain = configs[dc.PLAIN][0].to_dict()
    assert set(configs) == set(dc.VARIANTS)
    for name, (mc, tc) in configs.items():
        differ = {k for k, v in mc.to_dict().items() if plain[k] != v}
        assert differ <= {"kind", "noise_kind", "noise_level"}, name
        assert mc.code_dim == 32 and tc.seed == 2 and tc.epochs == dc.EPOCHS
        if dc.VARIANTS[name] is not None:
            assert (mc.kind, mc.noise_kind, mc.noise_level) == ("denoising", *dc.VARIANTS[name])


def test_the_summary_is_the_mean_and_sd_over_seeds():
    rows = {r["variant"]: r for r in dc.summarise(RESULTS)}
    assert rows[dc.PLAIN]["seeds"] == 3
    assert rows[dc.PLAIN]["probe_acc_1pct"] == pytest.approx(0.81)
    assert rows["Gaussian noise 0.3"]["knn_acc_sd"] == pytest.approx(np.std([0.97, 0.975, 0.97]))


def test_the_sentence_gives_each_move_and_the_verdict_the_numbers_make():
    text = dc.claim_sentence(dc.summarise(RESULTS))
    assert "1%-label probe 0.810 → 0.850" in text and "kNN 0.965 → 0.972" in text
    assert "feature locality 0.210 → 0.200" in text and "mean of 3 seeds" in text
    # probe +0.04 against sds of 0.008: better; kNN +0.0067 against 0.0041: better; locality -0.01
    # against 0.0082: worse
    assert "better on 2, worse on 1 and no clear difference on 0 of 3 measures" in text
    worse = {**RESULTS, "Gaussian noise 0.3": _runs([0.7] * 3, [0.9] * 3, [0.1] * 3)}
    assert "the claim does not hold: worse on 3 of 3 measures" in dc.claim_sentence(dc.summarise(worse))
    within = {**RESULTS, "Gaussian noise 0.3": _runs([0.815, 0.805, 0.81], [0.96, 0.97, 0.965], [0.2, 0.22, 0.21])}
    assert "no clear difference on 3 of 3" in dc.claim_sentence(dc.summarise(within))
    with pytest.raises(ValueError, match="needs the plain network"):
        dc.claim_sentence(dc.summarise({dc.PLAIN: RESULTS[dc.PLAIN]}))


def test_the_stored_result_round_trips_and_a_bad_file_is_no_result(tmp_path):
    f = tmp_path / "claim.json"
    dc.save_result(f, {k: [{**r, "train_seconds": 9.0} for r in v] for k, v in RESULTS.items()})
    assert "train_seconds" not in f.read_text()
    assert dc.load_result(f) == dc.summarise(RESULTS)
    assert dc.load_result(tmp_path / "missing.json") is None
    f.write_text("{not json")
    assert dc.load_result(f) is None
    f.write_text(json.dumps({dc.PLAIN: [{"knn_acc": 1}]}))  # a metric missing
    assert dc.load_result(f) is None


def test_the_sparsity_page_says_what_the_stored_result_says(tmp_path, monkeypatch):
    f = tmp_path / "claim.json"
    dc.save_result(f, RESULTS)
    monkeypatch.setattr(dc, "RESULT_FILE", f)
    at = AppTest.from_file(str(ROOT / "app_pages/6_Sparsity.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(dc.claim_sentence(dc.summarise(RESULTS)) in c.value for c in at.caption)
    monkeypatch.setattr(dc, "RESULT_FILE", tmp_path / "none.json")
    at = AppTest.from_file(str(ROOT / "app_pages/6_Sparsity.py"), default_timeout=120).run()
    assert not any("Denoising as a way to learn features" in c.value for c in at.caption)
