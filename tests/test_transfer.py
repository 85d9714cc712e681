"""The transfer table (ae_core.analysis.transfer, ae_core.runs.transfer_checkpoint, `ae-core transfer`)
against references: exact per-class counts of the draw, the existing probe's number and the zoo's
stored one, fine-tuning at rate 0 against the frozen head, the images the from-scratch network
is shown, a stopped run's saved cells, and the table's arithmetic on known inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ae_core.analysis import metrics
from ae_core.analysis import transfer as tr
from ae_core.analysis.transfer_config import ALL, TRAINED, TransferConfig
from ae_core.analysis.transfer_table import SAME, summarise, text_table, verdict
from ae_core.data import split_for
from ae_core.errors import AEError
from ae_core.io import transfer_file
from ae_core.io.checkpoint import load_checkpoint
from ae_core.runs import transfer_checkpoint

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
QUICK = TransferConfig(labels=(5,), seeds=1, steps=30, batch_size=32, head_width=16)


@pytest.fixture(scope="module")
def shipped():
    ck = load_checkpoint(CHECKPOINTS / "undercomplete-16")
    train, test = split_for(ck.dataset)
    return ck, train, test


def _copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(CHECKPOINTS / name, dst)
    return dst


def test_the_draw_has_exactly_k_of_every_class_and_refuses_more_than_there_are():
    y = np.repeat(np.arange(4), [7, 30, 12, 9])
    for k, seed in ((1, 0), (3, 1), (7, 2)):
        idx = metrics.labels_per_class(y, k, seed)
        assert len(np.unique(idx)) == len(idx) == 4 * k
        np.testing.assert_array_equal(np.bincount(y[idx], minlength=4), [k] * 4)
        np.testing.assert_array_equal(idx, metrics.labels_per_class(y, k, seed))  # seeded
    assert not np.array_equal(metrics.labels_per_class(y, 3, 0), metrics.labels_per_class(y, 3, 1))
    with pytest.raises(ValueError, match=r"8 labels per class is more than .* class 0 has 7"):
        metrics.labels_per_class(y, 8)


def test_label_subset_draws_as_before_the_shared_helper():
    # label_subset now draws through the helper labels_per_class uses; its draw must be the one
    # the zoo's probe_acc_1pct was measured with: per class, rng.choice in class order
    y = np.repeat(np.arange(3), [50, 80, 20])
    rng = np.random.default_rng(4)
    ref = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), max(1, round(0.1 * n)), replace=False)
                                  for c, n in enumerate((50, 80, 20))]))
    np.testing.assert_array_equal(metrics.label_subset(y, 0.1, 4), ref)


def test_counts_refuse_an_asked_count_larger_than_the_data_and_drop_a_default_one_with_a_note(shipped):
    _, train, _ = shipped
    counts, notes = tr.counts_for(TransferConfig(), train.y)
    smallest = np.bincount(train.y).min()
    assert counts == [10, 100, ALL] and smallest < 1000
    assert len(notes) == 1 and "1,000 labels per class" in notes[0] and f"{smallest:,}" in notes[0]
    with pytest.raises(ValueError, match=f"class .* has {smallest}"):
        tr.counts_for(TransferConfig(labels=(10, 500)), train.y)


def test_frozen_code_and_raw_pixel_logistic_regression_are_the_probe(shipped):
    ck, train, test = shipped
    frozen = tr.run_cell(tr.Cell("frozen_lr", ALL, 0), ck.model, train, test, QUICK)
    raw = tr.run_cell(tr.Cell("raw_lr", ALL, 1), ck.model, train, test, QUICK)
    ref = metrics.representation_quality(tr._codes(ck.model, train.x), train.y, tr._codes(ck.model, test.x), test.y,
                                         fractions=(1.0,))
    assert frozen["acc"] == ref["probe_acc"]
    # and the number the zoo stored when it was built, before the probe became linear_probe
    assert frozen["acc"] == pytest.approx(ck.metrics["probe_acc"], abs=1e-12)
    assert raw["acc"] == pytest.approx(ck.metrics["raw_probe_acc"], abs=1e-12)
    assert frozen["n_labels"] == len(train)
    few = tr.run_cell(tr.Cell("frozen_lr", 5, 2), ck.model, train, test, QUICK)
    idx = metrics.labels_per_class(train.y, 5, 2)
    assert few["n_labels"] == len(idx) == 50
    assert few["acc"] == metrics.linear_probe(tr._codes(ck.model, train.x), train.y, tr._codes(ck.model, test.x),
                                              test.y, [idx])[0]


def test_fine_tuning_at_rate_zero_is_the_frozen_code_and_head(shipped):
    ck, train, test = shipped
    frozen_enc = TransferConfig(labels=(5,), seeds=1, steps=40, batch_size=16, head_width=16, encoder_lr_scale=0.0)
    before = {k: v.clone() for k, v in ck.model.state_dict().items()}
    for seed in (0, 1):
        ft = tr.run_cell(tr.Cell("finetune", 5, seed), ck.model, train, test, frozen_enc)
        head = tr.run_cell(tr.Cell("frozen_mlp", 5, seed), ck.model, train, test, frozen_enc)
        assert ft["acc"] == pytest.approx(head["acc"], abs=1.5 / len(test))  # float order may move one image
    moving = dataclass_replace(frozen_enc, encoder_lr_scale=1.0, lr=0.05)
    assert tr.run_cell(tr.Cell("finetune", 5, 0), ck.model, train, test, moving)["acc"] != pytest.approx(
        tr.run_cell(tr.Cell("frozen_mlp", 5, 0), ck.model, train, test, moving)["acc"], abs=1e-9)
    for k, v in ck.model.state_dict().items():  # the checkpoint's model itself is never trained
        assert torch.equal(v, before[k])


def dataclass_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def _images_seen(fn) -> list[bytes]:
    """Every image (1, 8, 8) a module of the model was called with while fn() ran."""
    seen = []

    def hook(module, args):
        for a in args:
            if isinstance(a, torch.Tensor) and a.ndim == 4 and tuple(a.shape[1:]) == (1, 8, 8):
                seen.extend(np.asarray(a.detach(), dtype=np.float32).tobytes(order="C")[i * 256:(i + 1) * 256]
                            for i in range(len(a)))

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        fn()
    finally:
        handle.remove()
    return seen


def test_from_scratch_never_sees_an_unlabelled_image_and_semi_does(shipped):
    ck, train, test = shipped
    cfg = TransferConfig(labels=(5,), seeds=1, steps=25, batch_size=16, head_width=16)
    idx = metrics.labels_per_class(train.y, 5, 0)
    as_bytes = [x.astype(np.float32).tobytes() for x in train.x]
    allowed = {as_bytes[i] for i in idx} | {x.astype(np.float32).tobytes() for x in test.x}
    unlabelled = {b for i, b in enumerate(as_bytes) if i not in set(idx.tolist())} - allowed
    assert len(unlabelled) > 1000

    scratch = _images_seen(lambda: tr.run_cell(tr.Cell("scratch", 5, 0), ck.model, train, test, cfg))
    assert len(scratch) > 25 * 16 and not set(scratch) & unlabelled
    semi = _images_seen(lambda: tr.run_cell(tr.Cell("semi", 5, 0), ck.model, train, test, cfg))
    assert len(set(semi) & unlabelled) > 100  # the check can fail: semi uses every training image


def test_pca_gets_the_frozen_rows_only_with_a_sentence(shipped):
    _, train, test = shipped
    pca = load_checkpoint(CHECKPOINTS / "pca-16").model
    assert not tr.fine_tunable(pca) and "PCA" in tr.why_frozen(pca)
    assert {c.method for c in tr.plan(QUICK, pca, train.y)} == {"raw_lr", "frozen_lr", "frozen_mlp"}
    with pytest.raises(AEError, match="no encoder to fine-tune"):
        tr.run_cell(tr.Cell("finetune", 5, 0), pca, train, test, QUICK)
    ae = load_checkpoint(CHECKPOINTS / "undercomplete-16").model
    assert tr.fine_tunable(ae) and tr.why_frozen(ae) == ""
    assert set(TRAINED) <= {c.method for c in tr.plan(QUICK, ae, train.y)}


def test_a_stopped_run_keeps_its_finished_cells_and_the_next_computes_only_the_rest(tmp_path, monkeypatch):
    path = _copy("undercomplete-16", tmp_path)
    done: list[str] = []
    first = transfer_checkpoint(path, QUICK, on_cell=lambda c, r, i, n: done.append(c.name),
                                should_stop=lambda: len(done) >= 7)
    assert first["stopped"] and len(first["cells"]) == 7 == len(done)
    saved = json.loads((path / transfer_file.FILE).read_text())
    assert len(saved["tables"]) == 1 and set(saved["tables"][0]["cells"]) == set(done)

    computed: list[str] = []
    real = tr.run_cell

    def counting(cell, *a, **kw):
        computed.append(cell.name)
        return real(cell, *a, **kw)

    monkeypatch.setattr(tr, "run_cell", counting)
    second = transfer_checkpoint(path, QUICK)
    assert not second["stopped"] and len(second["cells"]) == second["total"] == 6 * 2
    assert not set(computed) & set(done) and len(computed) == second["total"] - 7
    for name in done:  # kept as they were
        assert second["cells"][name] == first["cells"][name]
    # another protocol never mixes its cells with these
    other = transfer_file.table_key(dataclass_replace(QUICK, steps=31).key(), "x", "y")
    assert transfer_file.read_cells(path, other) == {}


def test_a_damaged_or_foreign_transfer_file_counts_as_absent(tmp_path):
    key = transfer_file.table_key(QUICK.key(), "d", "w")
    cell = {"acc": 0.5, "seconds": 1.0, "n_labels": 10}
    transfer_file.add_cell(tmp_path, key, "frozen_lr|5|0", cell)
    assert transfer_file.read_cells(tmp_path, key) == {"frozen_lr|5|0": cell}
    doc = json.loads((tmp_path / transfer_file.FILE).read_text())
    doc["tables"][0]["cells"]["frozen_lr|5|1"] = {"acc": 7, "seconds": 1.0, "n_labels": 10}  # out of range
    (tmp_path / transfer_file.FILE).write_text(json.dumps(doc))
    assert set(transfer_file.read_cells(tmp_path, key)) == {"frozen_lr|5|0"}
    (tmp_path / transfer_file.FILE).write_text("{not json")
    assert transfer_file.read_cells(tmp_path, key) == {}


def _cells(table: dict) -> dict:
    """{(method, count): [acc per seed]} -> cells as transfer_checkpoint returns them."""
    return {f"{m}|{c}|{s}": {"acc": a, "seconds": 1.0 + s, "n_labels": 100 if c == ALL else 10 * c}
            for (m, c), accs in table.items() for s, a in enumerate(accs)}


def test_the_table_and_its_sentence_on_known_numbers():
    cells = _cells({("frozen_mlp", 1): [0.70, 0.74], ("scratch", 1): [0.50, 0.54],
                    ("frozen_mlp", 5): [0.90, 0.90], ("scratch", 5): [0.895, 0.895],
                    ("frozen_mlp", ALL): [0.95, 0.95], ("scratch", ALL): [0.97, 0.97]})
    rows = summarise(cells)
    one = next(r for r in rows if r["method"] == "frozen_mlp" and r["count"] == 1)
    assert one["mean"] == pytest.approx(0.72) and one["std"] == pytest.approx(0.02) and one["seeds"] == 2
    assert one["seconds"] == pytest.approx(1.5)
    assert [r["count"] for r in rows if r["method"] == "scratch"] == [1, 5, ALL]
    s = verdict(rows)
    assert s.startswith("With 1 labels per class the pretrained code helps most") and "+20.0 points" in s
    assert "with 5 labels per class it no longer helps" in s and SAME == 0.01
    assert "72.0 ±  2.0%" in text_table(rows)
    flat = summarise(_cells({("frozen_lr", 1): [0.5], ("scratch", 1): [0.6]}))
    assert verdict(flat).startswith("Pretraining does not help on this data")


def test_cli_transfer_writes_the_table_json_and_png_and_refuses_bad_counts(tmp_path):
    path = _copy("pca-16", tmp_path)
    exe = [sys.executable, "-m", "ae_core.cli", "transfer", str(path), "--labels", "5", "--seeds", "2",
           "--steps", "20", "--head-width", "8"]
    done = subprocess.run([*exe, "--json", "--png", str(tmp_path / "chart.png")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert {r["method"] for r in out["rows"]} == {"raw_lr", "frozen_lr", "frozen_mlp"}
    assert "no encoder to fine-tune" in out["frozen_only"] and len(out["cells"]) == 3 * 2 * 2
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = subprocess.run(exe, capture_output=True, text=True, timeout=300)  # every cell saved: read back
    assert text.returncode == 0 and "frozen code + logistic regression" in text.stdout
    bad = subprocess.run([*exe[:5], "--labels", "10,500"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "500 labels per class is more than" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_transfer_job_reports_every_cell_and_a_stop_keeps_the_finished_ones(tmp_path, monkeypatch):
    from services.jobs import channel
    from services.jobs.runs import transfer_owner, transfer_spec
    from services.jobs import worker
    from services.jobs.worker import run_job

    monkeypatch.delenv("LSE_HOSTED", raising=False)
    monkeypatch.setenv("LSE_JOBS_DIR", str(tmp_path / "jobs"))
    path = _copy("undercomplete-16", tmp_path)
    ch = channel.Channel.create(transfer_owner(None), transfer_spec(path, QUICK))
    final = run_job(str(ch.folder))
    job = ch.view()
    assert final["stage"] == "finished" and not job.error and not job.result["stopped"]
    assert job.result["cells"] == job.result["total"] == job.done_steps == job.total_steps == 12
    cells = [e for e in ch.events() if e.get("event") == "cell"]
    saved = transfer_file.read_cells(path, json.loads((path / transfer_file.FILE).read_text())["tables"][0]["key"])
    assert [e["cell"] for e in cells] == [c.name for c in tr.plan(QUICK, load_checkpoint(path).model,
                                                                 split_for(load_checkpoint(path).dataset)[0].y)]
    assert {e["cell"]: e["acc"] for e in cells} == {k: v["acc"] for k, v in saved.items()}

    # a second model, stopped after its third cell: the finished cells stay saved with it
    other = tmp_path / "other"
    shutil.copytree(path, other)
    (other / transfer_file.FILE).unlink()
    ch2 = channel.Channel.create(transfer_owner(None), transfer_spec(other, QUICK))
    real, n = tr.run_cell, []

    def stopping_after_three(cell, *a, **kw):
        out = real(cell, *a, **kw)
        n.append(cell.name)
        if len(n) == 3:
            ch2.request_stop()
        return out

    monkeypatch.setattr(tr, "run_cell", stopping_after_three)
    monkeypatch.setattr(worker, "STOP_POLL_S", 0.0)  # the stop file read at every look: no timing in the test
    run_job(str(ch2.folder))
    job2 = ch2.view()
    assert job2.result.get("stopped") and not job2.error and job2.result["cells"] == 3, (job2.error, job2.result)
    key2 = json.loads((other / transfer_file.FILE).read_text())["tables"][0]["key"]
    assert set(transfer_file.read_cells(other, key2)) == set(n) and len(n) == 3


def test_the_transfer_page_shows_the_chart_table_and_sentence_or_offers_to_compute(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dashboard.shell.safe_text import plain
    from dashboard.views import transfer as view
    from services import catalog

    monkeypatch.delenv("LSE_HOSTED", raising=False)
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    page = str(Path(__file__).resolve().parents[1] / "app_pages" / "8_Transfer.py")
    at = AppTest.from_file(page, default_timeout=120).run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert [b.label for b in at.button] == ["Compute the table"] and not at.get("plotly_chart")

    results = {}

    def saved_copy(entry):  # the table of a copy of the page's model, computed with the quick protocol
        if entry.path not in results:
            results[entry.path] = transfer_checkpoint(shutil.copytree(entry.path, tmp_path / "copy"), QUICK)
        return results[entry.path]

    monkeypatch.setattr(view, "saved_table", saved_copy)
    at = AppTest.from_file(page, default_timeout=120).run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 1 and not at.button
    (res,) = results.values()
    sentence = verdict(summarise(res["cells"]))
    assert any(sentence in plain(m.value) for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table.columns) == ["method", "5", "all (1,437)", "s/cell"] and len(table) == 6
    mlp = summarise(res["cells"])[4]  # frozen_mlp, 5 per class: the table's cell is that row's mean
    assert mlp["method"] == "frozen_mlp" and table.iloc[2]["5"] == f"{100 * mlp['mean']:.1f}"  # one seed: no ±
