"""Hand-written mutations that mutmut cannot make (module constants, dataclass defaults, whole-call
changes), each with the tests that must kill it. Run by ``make mutate`` after mutmut; not collected
by pytest (the file name does not start with ``test_``).

Each mutation is applied to a private copy of the tree in a temporary folder (the checkout is never
edited), the named tests run there with that copy first on ``PYTHONPATH``, and the mutation counts
as killed when they fail. Exit status 1 when any mutation survives. See docs/testing.md.

Usage: python tests/curated_mutations.py [NAME ...]   (no names: all)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]


class Mutation(NamedTuple):
    name: str
    path: str  # relative to the repository root
    old: str  # must occur exactly once
    new: str
    tests: tuple[str, ...]  # pytest arguments


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "selection-reads-test-split",
        "umcl/training/trainer.py",
        "val = select_rows(rows, c.select_split,",
        'val = select_rows(rows, "test",',
        ("tests/test_trainer.py::test_training_and_selection_never_read_a_test_video",),
    ),
    Mutation(
        "audit-keeps-train-mode-statistics",
        "umcl/training/trainer.py",
        "                v.copy_(buffers[k])",
        "                pass",
        ("tests/test_leakage.py", "-k", "buffer_and_parameter_unchanged or identical_checkpoints"),
    ),
    Mutation(
        "hr-band-0.7-4.0",
        "umcl/losses.py",
        "HR_BAND_HZ: tuple[float, float] = (0.7, 3.0)",
        "HR_BAND_HZ: tuple[float, float] = (0.7, 4.0)",
        ("tests/test_losses.py", "-k", "band or outside"),
    ),
    Mutation(
        "hr-band-0.5-3.0",
        "umcl/losses.py",
        "HR_BAND_HZ: tuple[float, float] = (0.7, 3.0)",
        "HR_BAND_HZ: tuple[float, float] = (0.5, 3.0)",
        ("tests/test_losses.py", "-k", "band or outside"),
    ),
    Mutation(
        "model-hr-band-0.7-4.0",
        "umcl/models/umcl.py",
        "hr_band: tuple[float, float] = (0.7, 3.0)",
        "hr_band: tuple[float, float] = (0.7, 4.0)",
        ("tests/test_umcl_model.py::test_hr_term_searches_the_documented_band_only",),
    ),
    Mutation(
        "model-hr-band-0.5-3.0",
        "umcl/models/umcl.py",
        "hr_band: tuple[float, float] = (0.7, 3.0)",
        "hr_band: tuple[float, float] = (0.5, 3.0)",
        ("tests/test_umcl_model.py::test_hr_term_searches_the_documented_band_only",),
    ),
    Mutation(
        "acc-strict-threshold",
        "umcl/metrics.py",
        "(s >= threshold)",
        "(s > threshold)",
        ("tests/test_metrics.py::test_known_values",),
    ),
    Mutation(
        "auc-flipped",
        "umcl/metrics.py",
        "return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))",
        "return float(1.0 - (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))",
        ("tests/test_trainer.py::test_cli_train_then_evaluate",),
    ),
    Mutation(
        "lrnet-labels-repeated",
        "baselines/lrnet.py",
        "repeat_interleave(n)",
        "repeat(n)",
        ("tests/test_baselines.py::test_lrnet_every_block_carries_its_own_videos_label",),
    ),
    Mutation(
        "lrnet-official-fc-swapped",
        "umcl/models/lrnet.py",
        '(r"\\.dense\\.1\\.fn\\.net\\.0\\.", ".mlp.fc1."),\n    (r"\\.dense\\.1\\.fn\\.net\\.3\\.", ".mlp.fc2."),',
        '(r"\\.dense\\.1\\.fn\\.net\\.0\\.", ".mlp.fc2."),\n    (r"\\.dense\\.1\\.fn\\.net\\.3\\.", ".mlp.fc1."),',
        ("tests/test_lrnet_encoder.py::test_load_pretrained_prefixed_and_official_keys",),
    ),
    Mutation(
        "synthff-celebdf-size",
        "umcl/data/synthff/variants.py",
        'VariantSpec("celebdf", 320,',
        'VariantSpec("celebdf", 288,',
        ("tests/test_synthff.py::test_variants_have_their_documented_size_and_fps",),
    ),
    Mutation(
        "prompts-invalid-prob-inverted",
        "umcl/prompts.py",
        "< invalid_prob",
        ">= invalid_prob",
        ("tests/test_text_encoder.py", "-k", "own_class_or_invalid"),
    ),
    Mutation(
        "prompts-classes-swapped",
        "umcl/prompts.py",
        '_pick([table.ids("real"), table.ids("fake")]',
        '_pick([table.ids("fake"), table.ids("real")]',
        ("tests/test_text_encoder.py", "-k", "own_class_or_invalid"),
    ),
    Mutation(
        "c23-crf",
        "umcl/data/compression.py",
        '"c23": ("-c:v", "libx264", "-crf", "23")',
        '"c23": ("-c:v", "libx264", "-crf", "28")',
        ("tests/test_compression.py",),
    ),
    Mutation(
        "lq-factor",
        "umcl/models/umcl.py",
        "lq_factor: int = 4",
        "lq_factor: int = 2",
        ("tests/test_umcl_model.py::test_paper_profile_sizes",),
    ),
    # umcl-released's switches of the second reading of the release, each ignored in the code
    # (docs/deviations/released.md)
    Mutation(
        "released-affinity-class-sum",
        "umcl/released.py",
        "return total / len(terms) if class_mean else total",
        "return total",
        ("tests/test_released_variant.py::test_model_affinity_term_is_the_reference_per_class_on_each_lq_view",),
    ),
    Mutation(
        "released-ce-mixed",
        "umcl/models/umcl.py",
        "ce = released.per_class_ce if cfg.ce_per_class else losses.bce_loss",
        "ce = losses.bce_loss",
        ("tests/test_released_switches.py::test_cross_entropy_is_the_sum_of_the_two_per_class_means",),
    ),
    Mutation(
        "released-no-relu",
        "umcl/models/umcl.py",
        "if cfg.relu_features:",
        "if False:",
        ("tests/test_released_switches.py::test_classifier_and_affinity_read_relu_features",),
    ),
    Mutation(
        "released-scoring-eval-mode",
        "umcl/models/umcl.py",
        'if self.condition(batch).module_mode == "train":',
        "if False:",
        (
            "tests/test_released_switches.py::test_default_scoring_is_per_video_in_training_mode_and_leaves_the_checkpoint_as_loaded",
        ),
    ),
    Mutation(
        "released-frozen-text",
        "umcl/models/umcl.py",
        "self.text_encoder = encoder.unfreeze()",
        "self.text_encoder = encoder",
        ("tests/test_released_switches.py::test_text_tower_is_a_trained_submodule",),
    ),
    Mutation(
        "released-no-appearance",
        "umcl/models/umcl.py",
        'feature = torch.cat([feature, self.appearance[v if pooled else "hq"](tok)], dim=1)',
        'feature = torch.cat([feature, 0 * self.appearance[v if pooled else "hq"](tok)], dim=1)',
        ("tests/test_released_switches.py::test_rppg_feature_reads_the_signal_and_the_tokens_of_the_first_two_stages",),
    ),
    Mutation(
        "lrnet-no-feature-dropout",
        "umcl/models/lrnet.py",
        "if self.feature_dropout:",
        "if False:",
        ("tests/test_released_switches.py::test_lrnet_feature_is_taken_after_the_trailing_dropout",),
    ),
    Mutation(
        "released-mixed-batches",
        "umcl/models/umcl.py",
        "elif self.cfg.class_pure_batches:",
        "elif False:",
        ("tests/test_released_switches.py::test_real_and_fake_rows_go_through_separate_passes",),
    ),
    Mutation(
        "released-vipl-frames",
        "umcl/models/umcl.py",
        "scale = (lambda x: x) if cfg.frames_unit_range else self.p_encoder.prepare",
        "scale = self.p_encoder.prepare",
        ("tests/test_released_switches.py::test_p_encoder_reads_frames_in_unit_range",),
    ),
    Mutation(
        "released-shared-prompt",
        "umcl/models/umcl.py",
        "per_view = self.training and cfg.prompt_per_view",
        "per_view = False",
        ("tests/test_released_switches.py::test_each_view_draws_its_own_training_prompts",),
    ),
    # the report layer (what a reviewer reads) and the declarations and rules behind it
    Mutation(
        "report-acc-val-threshold-on-test",
        "umcl/report/render.py",
        "_scores(r.val_scores, cache)",
        "subset(_scores(r.scores, cache), r.methods)",
        ("tests/test_report.py::test_acc_at_val_uses_each_runs_validation_scores",),
    ),
    Mutation(
        "report-table3-deltas-against-raw",
        "umcl/report/render.py",
        "if c.key[0] == prow.key[0] and c.key[1:] == col.key[1:]]",
        'if c.key[0] == "raw" and c.key[1:] == col.key[1:]]',
        ("tests/test_report.py::test_table3_deltas_of_every_row_are_against_its_own_compression",),
    ),
    Mutation(
        "report-more-statistics-acc-swapped",
        "umcl/report/render.py",
        'pct("acc"), pct("acc_val")',
        'pct("acc_val"), pct("acc")',
        ("tests/test_report.py::test_more_statistics_columns_are_the_named_statistics",),
    ),
    Mutation(
        "table4-right-ff-every-method",
        "umcl/protocols/tables.py",
        '_ff("c40", ("Deepfakes",))',
        '_ff("c40")',
        ("tests/test_protocols.py::test_table4_declares_the_papers_train_and_test_selections",),
    ),
    Mutation(
        "landmark-noise-seeded-by-batch",
        "umcl/conditions.py",
        "_video_rng(seed, key_name, vk).standard_normal",
        '_video_rng(seed, key_name, batch["key"][0]).standard_normal',
        ("tests/test_conditions.py::test_landmark_noise_is_per_video_alone_or_in_a_batch_and_differs_between_videos",),
    ),
    Mutation(
        "threshold-tie-to-the-higher",
        "umcl/metrics.py",
        "np.lexsort((thresholds[best], ",
        "np.lexsort((-thresholds[best], ",
        ("tests/test_metrics.py", "-k", "tie_equally_near_half"),
    ),
    Mutation(
        "threshold-tie-float-distance",
        "umcl/metrics.py",
        "np.round(np.abs(thresholds[best] - 0.5), 12)",
        "np.abs(thresholds[best] - 0.5)",
        ("tests/test_metrics.py", "-k", "tie_equally_near_half"),
    ),
)


def _copy_tree(dst: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".venv",
        ".git",
        "results",
        "reports",
        "logs",
        ".snakemake",
        "mutants",
        "__pycache__",
        ".hypothesis",
        ".pytest_cache",
    )
    shutil.copytree(REPO, dst, ignore=ignore, dirs_exist_ok=True)


def run(mutation: Mutation, tree: Path) -> tuple[bool, str]:
    """Apply ``mutation`` in ``tree``, run its tests, restore the file; (killed, pytest's last line)."""
    path = tree / mutation.path
    source = path.read_text()
    if source.count(mutation.old) != 1:
        return False, f"pattern found {source.count(mutation.old)} times in {mutation.path}: update this list"
    path.write_text(source.replace(mutation.old, mutation.new))
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutation.tests],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(source)
    last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return proc.returncode != 0, last


def main(names: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not names or m.name in names]
    survived = 0
    with tempfile.TemporaryDirectory(prefix="umcl-mutations-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree)
        for m in chosen:
            t0 = time.time()
            killed, last = run(m, tree)
            survived += not killed
            print(f"{'killed  ' if killed else 'SURVIVED'} {m.name} ({time.time() - t0:.0f} s): {last}", flush=True)
    print(f"curated mutations: {len(chosen) - survived}/{len(chosen)} killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
