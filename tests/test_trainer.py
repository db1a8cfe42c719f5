"""The trainer: balanced batches, exact resume, validation-only selection, evaluate outputs."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _metric_refs import sklearn_metrics
from _train_fixtures import make_manifest  # registers "toy_test"

from umcl.cli import main
from umcl.data import videos
from umcl.errors import ConfigError, UmclError
from umcl.training.config import TrainConfig
from umcl.training.data import BalancedBatchSampler, VideoDataset, collate, read_rows, select_rows
from umcl.training.trainer import Trainer, build_spec, read_selection

CONFIG = {
    "training": {"epochs": 3, "batch_size": 4, "lr_warmup": 0.05, "lr": 0.01, "warmup_fraction": 0.2, "seed": 3},
    "detectors": {"toy_test": {"hidden": 8}},
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return make_manifest(tmp_path_factory.mktemp("data"), compressions=("c23", "c40"))


def test_balanced_batches_oversample_minority_and_shard():
    labels = [0] * 3 + [1] * 10
    sampler = BalancedBatchSampler(labels, 4, seed=1)
    assert len(sampler) == 5
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == 5
        for b in batches:
            assert [labels[i] for i in b] == [0, 0, 1, 1]
        fakes = [i for b in batches for i in b if labels[i] == 1]
        assert sorted(fakes) == list(range(3, 13))  # majority: each video exactly once
        reals = [i for b in batches for i in b if labels[i] == 0]
        assert set(reals) == {0, 1, 2}  # minority repeated
    sampler.set_epoch(0)
    e0 = list(sampler)
    sampler.set_epoch(1)
    assert e0 != list(sampler)
    sampler.set_epoch(0)
    assert e0 == list(sampler)  # depends on (seed, epoch) only
    shards = [BalancedBatchSampler(labels, 4, seed=1, rank=r, world_size=2) for r in (0, 1)]
    got = [list(s) for s in shards]
    assert len(got[0]) == len(got[1]) == 2
    assert got[0] + got[1] != [] and not set(map(tuple, got[0])) & set(map(tuple, got[1]))
    with pytest.raises(UmclError):
        BalancedBatchSampler([1, 1, 1], 2, seed=0)


def test_dataset_items_follow_the_contract(manifest):
    rows = read_rows(manifest)
    assert all(r.status == "ok" for r in rows)
    train = select_rows(rows, "train", "c23")
    lq = select_rows(rows, "train", "c40")
    ds = VideoDataset(
        train, ("frames", "landmarks", "xception_faces", "frames_lq", "landmarks_lq"), num_frames=6, lq_rows=lq
    )
    batch = collate([ds[0], ds[1]])
    assert batch["frames"].shape == (2, 3, 6, 8, 8) and batch["frames"].dtype == torch.uint8
    assert batch["frames_lq"].shape == (2, 3, 6, 8, 8)
    assert batch["landmarks"].shape == (2, 6, 136) and batch["landmarks"].dtype == torch.float32
    assert batch["xception_faces"].shape == (2, 2, 3, 8, 8)
    assert batch["key"][0].startswith("synthff/") and batch["label"].dtype == torch.int64
    with np.load(train[0].cache) as npz:  # the LQ view is the c40 video of the same (method, id)
        assert not np.array_equal(npz["faces"][:6].transpose(3, 0, 1, 2), batch["frames_lq"][0].numpy())
    with pytest.raises(UmclError, match="low-quality"):
        VideoDataset(train, ("frames_lq",))
    with pytest.raises(UmclError, match="fewer than"):
        VideoDataset(train, ("frames",), num_frames=99)[0]
    small = select_rows(rows, "train", "c23", max_videos=4, seed=0)
    assert sorted(r.label for r in small) == [0, 0, 1, 1]


def _final_weights(run):
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


def test_resume_gives_identical_weights_and_selects_on_val(manifest, tmp_path):
    spec = build_spec(CONFIG, "toy_test", manifest, "c23")
    full = tmp_path / "full"
    Trainer(spec, full, progress=False).fit()
    part = tmp_path / "part"
    Trainer(spec, part, progress=False).fit(stop_after=1)
    assert sorted(p.name for p in (part / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    with pytest.raises(UmclError, match="--resume"):
        Trainer(spec, part, progress=False).fit()
    Trainer(spec, part, progress=False).fit(resume=True)
    a, b = _final_weights(full), _final_weights(part)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def hist(run):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads((run / "history.json").read_text())]

    assert hist(full) == hist(part)

    sel = read_selection(full)
    hist = pd.read_csv(full / "history.csv")
    assert len(hist) == 3 and sel["split"] == "val" and sel["metric"] == "auc"
    assert sel["value"] == hist["val_auc"].max()
    assert sel["epoch"] == int(hist.loc[hist["val_auc"].idxmax(), "epoch"])
    best = torch.load(full / "checkpoints" / "best.pt", weights_only=True)
    assert best["epoch"] == sel["epoch"] and "optimizer" not in best  # weights only
    # two checkpoints whatever the run's length
    assert sorted(p.name for p in (full / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert (full / "run.json").is_file()
    # a different seed is a different run: resuming with it is refused
    other = build_spec(CONFIG, "toy_test", manifest, "c23", seed=4)
    with pytest.raises(UmclError, match="different"):
        Trainer(other, full, progress=False).fit(resume=True)


def test_pipeline_resumes_an_interrupted_run_and_restarts_a_changed_one(manifest, tmp_path):
    """`--if-exists resume-or-restart`: a killed job continues exactly; a config edit starts over."""
    spec = build_spec(CONFIG, "toy_test", manifest, "c23")
    full, run = tmp_path / "full", tmp_path / "run"
    Trainer(spec, full, progress=False).fit()
    Trainer(spec, run, progress=False).fit(stop_after=1)  # as if the job had been killed
    Trainer(spec, run, progress=False).fit(if_exists="resume-or-restart")
    a, b = _final_weights(full), _final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    edited = build_spec(CONFIG, "toy_test", manifest, "c23", epochs=2)
    Trainer(edited, run, progress=False).fit(if_exists="resume-or-restart")
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 2
    assert [r["epoch"] for r in json.loads((run / "history.json").read_text())] == [1, 2]
    assert json.loads((run / "run.json").read_text())["fingerprint"] == edited.fingerprint()


def test_epoch_checkpoints_are_kept_only_when_asked(manifest, tmp_path):
    config = {**CONFIG, "training": {**CONFIG["training"], "epochs": 2, "keep_epoch_checkpoints": True}}
    run = tmp_path / "run"
    Trainer(build_spec(config, "toy_test", manifest, "c23"), run, progress=False).fit()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best.pt",
        "epoch_001.pt",
        "epoch_002.pt",
        "last.pt",
    ]
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    epoch2 = torch.load(run / "checkpoints" / "epoch_002.pt", weights_only=True)
    assert all(torch.equal(last["model"][k], epoch2["model"][k]) for k in last["model"])


def test_a_full_disk_is_a_one_line_error_and_leaves_no_checkpoint(manifest, tmp_path, monkeypatch):
    """A failed checkpoint write (ENOSPC here) names the file and the space left, and leaves nothing."""

    def full_disk(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 137671680 vs 137671568")

    monkeypatch.setattr(torch, "save", full_disk)
    run = tmp_path / "run"
    with pytest.raises(UmclError, match=r"could not write checkpoint .* MiB free") as err:
        Trainer(build_spec(CONFIG, "toy_test", manifest, "c23"), run, progress=False).fit(stop_after=1)
    assert str(run / "checkpoints") in str(err.value) and "\n" not in str(err.value)
    assert not [p for p in run.rglob("*.pt*")]  # neither a checkpoint nor its temporary


def test_a_job_killed_while_saving_resumes_with_a_consistent_selection(manifest, tmp_path, monkeypatch):
    """Killed while writing the selected epoch's best.pt: the rerun must redo that epoch, not skip
    past it with an older (or no) best.pt, and end exactly like an uninterrupted run. Holds
    because ``last.pt`` is written after every other file of an epoch."""
    import umcl.training.trainer as trainer_module

    spec = build_spec(CONFIG, "toy_test", manifest, "c23")
    full, run = tmp_path / "full", tmp_path / "run"
    Trainer(spec, full, progress=False).fit()
    selected = read_selection(full)["epoch"]
    real_save = trainer_module.save_checkpoint

    def killed_at_selected_epoch(state, path):
        if path.name == "best.pt" and state["epoch"] == selected:
            raise KeyboardInterrupt
        real_save(state, path)

    monkeypatch.setattr(trainer_module, "save_checkpoint", killed_at_selected_epoch)
    with pytest.raises(KeyboardInterrupt):
        Trainer(spec, run, progress=False).fit()
    monkeypatch.setattr(trainer_module, "save_checkpoint", real_save)
    Trainer(spec, run, progress=False).fit(if_exists="resume-or-restart")
    a, b = _final_weights(full), _final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_selection(run) == read_selection(full)
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    assert best["epoch"] == read_selection(run)["epoch"]


def test_is_better_is_strict_and_knows_the_direction_of_each_metric():
    """Selection keeps the earlier epoch on a tie; AUC/AP/ACC are higher-is-better, EER lower; NaN never wins."""
    from umcl.training.trainer import is_better

    for metric in ("auc", "ap", "acc"):
        assert is_better(0.5, None, metric)
        assert is_better(0.71, 0.70, metric) and not is_better(0.70, 0.70, metric)
        assert not is_better(0.69, 0.70, metric)
    assert is_better(0.5, None, "eer")
    assert is_better(0.19, 0.20, "eer") and not is_better(0.20, 0.20, "eer") and not is_better(0.21, 0.20, "eer")
    for metric in ("auc", "eer"):
        assert not is_better(float("nan"), 0.5, metric) and not is_better(float("nan"), None, metric)


def _record_opened_files(monkeypatch) -> list[Path]:
    """Every file opened for reading from now on (``open`` is what ``np.load`` and friends call)."""
    import builtins

    opened: list[Path] = []
    real_open = builtins.open

    def spy(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, Path)) and "r" in mode:
            opened.append(Path(file).resolve())
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return opened


def test_training_and_selection_never_read_a_test_video(manifest, tmp_path, monkeypatch):
    """Instrumented file reads: a full fit (training + validation-based selection) opens the caches
    of train and val videos, and not one of a test-split video, at any compression."""
    split_of = {(manifest.parent / r.cache).resolve(): r.split for r in read_rows(manifest)}
    assert {"train", "val", "test"} <= set(split_of.values())
    # an empty in-process memo of decompressed caches, so that every cache this fit reads is opened (the
    # module's other tests have read these caches before)
    monkeypatch.setattr(videos, "ARRAY_MEMO", videos.ArrayMemo())
    opened = _record_opened_files(monkeypatch)
    Trainer(build_spec(CONFIG, "toy_test", manifest, "c23"), tmp_path / "run", progress=False).fit()
    monkeypatch.undo()
    test_read = sorted(str(p) for p in opened if split_of.get(p) == "test")
    assert not test_read, f"{len(test_read)} test-split cache(s) read during training, e.g. {test_read[0]}"
    read = {split_of[p] for p in opened if p in split_of}
    assert read == {"train", "val"}, read  # the instrumentation sees the cache reads at all
    assert read_selection(tmp_path / "run")["split"] == "val"


def test_selecting_on_the_test_split_is_refused(manifest, tmp_path):
    with pytest.raises(ConfigError, match="refused"):
        TrainConfig(select_split="test")
    cfg = {**CONFIG, "training": {**CONFIG["training"], "select_split": "test"}}
    with pytest.raises(ConfigError, match="refused"):
        build_spec(cfg, "toy_test", manifest, "c23")
    (tmp_path / "selection.json").write_text(json.dumps({"epoch": 1, "split": "test"}))
    with pytest.raises(UmclError, match="refused") as info:  # the file is at fault: its error names it
        read_selection(tmp_path)
    assert str(tmp_path / "selection.json") in str(info.value)


@pytest.fixture(scope="module")
def separable_manifest(tmp_path_factory):
    """Fakes clearly redder than reals, so that the test AUC is far from 0.5 (a flipped AUC shows)."""
    return make_manifest(tmp_path_factory.mktemp("separable"), compressions=("c23", "c40"), strength=60)


def test_cli_train_then_evaluate(separable_manifest, tmp_path):
    import yaml

    manifest = separable_manifest

    cfg = tmp_path / "c.yaml"
    # the schema knows only the project's detectors: the toy one runs on its defaults
    cfg.write_text(yaml.safe_dump({"training": {**CONFIG["training"], "epochs": 2}}))
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                str(cfg),
                "--detector",
                "toy_test",
                "--manifest",
                str(manifest),
                "--train-compression",
                "c23",
                "--seed",
                "5",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    assert (run / "train.log").read_text().count("epoch 2/2") == 1
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--config",
                str(cfg),
                "--run",
                str(run),
                "--manifest",
                str(manifest),
                "--test-compression",
                "c40",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    scores = pd.read_csv(out / "scores.csv", dtype={"id": str})
    test_rows = select_rows(read_rows(manifest), "test", "c40")
    assert list(scores.columns) == ["dataset", "method", "compression", "id", "key", "label", "score"]
    assert sorted(scores["key"]) == sorted(r.key for r in test_rows)
    assert scores["key"].is_unique and scores["score"].between(0, 1).all()
    metrics = json.loads((out / "metrics.json").read_text())
    prov = metrics["provenance"]
    assert prov["detector"] == "toy_test" and prov["train_compression"] == "c23"
    assert prov["seed"] == 5 and prov["test_compression"] == "c40" and prov["split"] == "test"
    assert prov["selected_epoch"] == read_selection(run)["epoch"]
    # every metric recomputed by scikit-learn from scores.csv (a flipped AUC or a > threshold fails)
    ref = sklearn_metrics(scores["label"], scores["score"])
    assert abs(ref["auc"] - 0.5) > 0.2, ref  # informative: AUC and 1 - AUC differ
    assert {k: metrics[k]["value"] for k in ref} == pytest.approx(ref, abs=1e-9)
    # bad input: one-line error, non-zero exit, nothing written
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(tmp_path / "nope"),
                "--manifest",
                str(manifest),
                "--test-compression",
                "c40",
                "--out",
                str(tmp_path / "e2"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "e2").exists()


def test_a_paired_run_leaves_out_videos_whose_lq_copy_failed_preprocessing(manifest, tmp_path, caplog):
    """Cold default run (4b27e57): MTCNN found no face in one c40 copy, and the Table 11 "c23 & c40"
    run stopped the whole pipeline. The run keeps the videos present at both compressions instead."""
    table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    lost = table.index[(table["compression"] == "c40") & (table["split"] == "train")][0]
    table.loc[lost, "status"], table.loc[lost, "cache"] = "failed", ""
    broken = Path(manifest).parent / "preprocessed_lost_c40.csv"  # caches are relative to it
    table.to_csv(broken, index=False)
    cfg = {**CONFIG, "training": {**CONFIG["training"], "lq_compression": "c40"}}
    spec = build_spec(cfg, "toy_test", str(broken), "c23")
    with caplog.at_level("WARNING"):
        train, val = Trainer(spec, tmp_path / "run", progress=False)._datasets(("frames", "frames_lq"))
    everything = select_rows(read_rows(str(broken)), "train", "c23")
    assert len(train) == len(everything) - 1
    assert table.loc[lost, "id"] not in {r.id for r in train.rows if r.method == table.loc[lost, "method"]}
    assert "1 of" in caplog.text and "no c40 copy" in caplog.text
    assert train[0]["frames_lq"].shape == train[0]["frames"].shape
