"""The paper's Figures 6, 8 and 9, each with the data it was drawn from and numbers to check its claim.

* Figure 6: t-SNE of UMCL's fused features (trained on one compression, tested on raw, c23, c40);
  colour = real/fake, marker = test compression.
* Figure 8: per ablation (columns), t-SNE of the per-modality features before fusion (top: colour =
  modality, marker = real/fake) and of the fused features (bottom: colour = real/fake).
* Figure 9: the modality-pair affinities logged during training (``RUN/affinity.csv``, one panel per
  pair; HQ/LQ x real/fake curves).

Every figure writes ``PREFIX.png``, ``PREFIX.pdf``, its data (``PREFIX.npz`` for the t-SNE figures,
``PREFIX.csv`` for Figure 9), ``PREFIX.json`` (the numbers beside the picture: k-NN real/fake
accuracy (leave-one-out) and silhouette score in the embedded space for each panel, or Figure 9's
final affinities) and ``PREFIX.md`` (a caption quoting them). t-SNE's seed and perplexity come from
the ``figures`` config section (:class:`FiguresConfig`); the perplexity is capped below a third of
the points for small test sets (the JSON records the value used).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from umcl.errors import ConfigError, UmclError
from umcl.evaluation.features import FeatureSet
from umcl.io_utils import atomic_path

CLASS_NAMES = ("real", "fake")
MARKERS = ("o", "s", "^", "D", "v", "P")
#: the figures this module draws (pipeline targets reports/<name>.png)
FIGURES = ("figure6", "figure8", "figure9")


@dataclass(frozen=True)
class FiguresConfig:
    """Settings of the paper's figures (section ``figures``)."""

    #: t-SNE random_state (scikit-learn) and perplexity (the paper states neither)
    tsne_seed: int = 0
    tsne_perplexity: float = 30.0
    #: neighbours of the leave-one-out k-NN real/fake accuracy beside each t-SNE panel
    knn_k: int = 5
    #: test videos per compression (class-balanced, seeded); None = the whole test split
    max_videos: int | None = 300

    def __post_init__(self) -> None:
        if self.tsne_perplexity <= 0 or self.knn_k < 1:
            raise ConfigError(
                f"figures.tsne_perplexity must be > 0 and figures.knn_k >= 1, got "
                f"{self.tsne_perplexity} and {self.knn_k}"
            )
        if self.max_videos is not None and self.max_videos < 2:
            raise ConfigError(f"figures.max_videos must be >= 2 or null, got {self.max_videos}")


# ---------------------------------------------------------------------------- embedding and numbers


def effective_perplexity(n: int, perplexity: float) -> float:
    """``perplexity`` capped at (n - 1) / 3 (scikit-learn needs perplexity < n; t-SNE's rule of thumb)."""
    if n < 4:
        raise UmclError(f"t-SNE needs at least 4 points, got {n}", fix="test on more videos (figures.max_videos)")
    return float(min(perplexity, (n - 1) / 3))


def tsne(x: np.ndarray, seed: int, perplexity: float) -> np.ndarray:
    """2-D t-SNE of ``x`` [N, D] (scikit-learn, PCA initialisation, fixed seed): deterministic for a seed."""
    from sklearn.manifold import TSNE

    x = np.asarray(x, dtype=np.float64)
    return (
        TSNE(
            n_components=2,
            perplexity=effective_perplexity(len(x), perplexity),
            init="pca",
            random_state=seed,
            learning_rate="auto",
        )
        .fit_transform(x)
        .astype(np.float64)
    )


def knn_accuracy(emb: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Leave-one-out k-NN accuracy of ``labels`` in the embedding (scikit-learn, Euclidean, k <= N - 1)."""
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    k = min(k, len(emb) - 1)
    return float(cross_val_score(KNeighborsClassifier(n_neighbors=k), emb, labels, cv=LeaveOneOut()).mean())


def separation(emb: np.ndarray, labels: np.ndarray, k: int) -> dict[str, float | None]:
    """k-NN accuracy and silhouette score of ``labels`` in ``emb`` (None where a class is alone)."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2 or len(labels) <= len(np.unique(labels)):  # silhouette needs 2 <= classes < n
        return {"knn_acc": None, "silhouette": None, "n": int(len(labels))}
    majority = float(np.unique(labels, return_counts=True)[1].max() / len(labels))  # k-NN's chance level
    return {
        "knn_acc": knn_accuracy(emb, labels, k),
        "silhouette": float(silhouette_score(emb, labels)),
        "n": int(len(labels)),
        "majority_rate": majority,
    }


# ---------------------------------------------------------------------------- output


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def knn_text(s: Mapping) -> str:
    """A k-NN accuracy with its chance level (the majority-class rate), as every figure prints it:
    a k-NN accuracy read without its chance level overstates separation when the classes are unbalanced."""
    return f"k-NN acc {_fmt(s.get('knn_acc'))} (chance {_fmt(s.get('majority_rate'))})"


def _save(fig, prefix: Path, data: dict | pd.DataFrame, numbers: dict, caption: str) -> list[Path]:
    """Write PREFIX.{png,pdf,npz|csv,json,md}, each atomically."""
    import matplotlib.pyplot as plt

    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        with atomic_path(prefix.with_suffix(f".{ext}"), kind="figure") as tmp:
            fig.savefig(
                tmp, format=ext, dpi=150, bbox_inches="tight", metadata=None if ext == "png" else {"CreationDate": None}
            )
        paths.append(prefix.with_suffix(f".{ext}"))
    plt.close(fig)
    if isinstance(data, pd.DataFrame):
        with atomic_path(prefix.with_suffix(".csv"), kind="figure") as tmp:
            data.to_csv(tmp, index=False)
        paths.append(prefix.with_suffix(".csv"))
    else:
        with atomic_path(prefix.with_suffix(".npz"), kind="figure") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **data)
        paths.append(prefix.with_suffix(".npz"))
    numbers = {**numbers, "bootstrap_resamples": None}  # stated like every report's; no number here is resampled
    caption = caption.rstrip() + "\n\nBootstrap resamples: none (no number of this figure has a bootstrap interval)."
    for ext, text in (
        ("json", json.dumps(numbers, indent=2, sort_keys=True, default=str) + "\n"),
        ("md", caption.rstrip() + "\n"),
    ):
        with atomic_path(prefix.with_suffix(f".{ext}"), kind="figure") as tmp:
            Path(tmp).write_text(text)
        paths.append(prefix.with_suffix(f".{ext}"))
    return paths


def _agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scatter_classes(ax, emb: np.ndarray, label: np.ndarray, group: np.ndarray, group_names: Sequence[str]) -> None:
    """Colour = real/fake, marker = group (e.g. test compression)."""
    for gi, g in enumerate(group_names):
        for cls, colour in ((0, "tab:blue"), (1, "tab:red")):
            sel = (group == g) & (label == cls)
            if sel.any():
                ax.scatter(
                    emb[sel, 0],
                    emb[sel, 1],
                    s=10,
                    c=colour,
                    marker=MARKERS[gi % len(MARKERS)],
                    alpha=0.7,
                    linewidths=0,
                    label=f"{CLASS_NAMES[cls]} {g}".strip(),
                )


# ---------------------------------------------------------------------------- Figure 6


def figure6(features: FeatureSet, cfg: FiguresConfig, out: str | Path, train_compression: str) -> dict:
    """t-SNE of the fused features of one run over its test compressions; returns the numbers."""
    plt = _agg()
    emb = tsne(features.fused, cfg.tsne_seed, cfg.tsne_perplexity)
    comps = list(dict.fromkeys(features.compression.tolist()))
    numbers = {
        "figure": "figure6",
        "train_compression": train_compression,
        "tsne_seed": cfg.tsne_seed,
        "perplexity": effective_perplexity(len(emb), cfg.tsne_perplexity),
        "knn_k": cfg.knn_k,
        "all": separation(emb, features.label, cfg.knn_k),
        "per_compression": {
            c: separation(emb[features.compression == c], features.label[features.compression == c], cfg.knn_k)
            for c in comps
        },
    }
    fig, ax = plt.subplots(figsize=(5.5, 5))
    _scatter_classes(ax, emb, features.label, features.compression, comps)
    a = numbers["all"]
    numbers["title"] = f"UMCL trained on {train_compression}: {knn_text(a)}, silhouette {_fmt(a['silhouette'])}"
    ax.set_title(numbers["title"], fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=1.5, loc="best")
    lines = [
        f"Figure 6: t-SNE of UMCL's fused features (trained on {train_compression}; tested on "
        f"{', '.join(comps)}; {len(emb)} test videos; seed {cfg.tsne_seed}, perplexity {numbers['perplexity']:g}). "
        "Colour: real (blue) / fake (red); marker: test compression.",
        "",
        "| test | videos | k-NN real/fake acc (LOO) | majority-class rate (k-NN chance) | silhouette (real/fake) |",
        "|---|---|---|---|---|",
    ]
    for name, s in [("all", a)] + list(numbers["per_compression"].items()):
        lines.append(
            f"| {name} | {s['n']} | {_fmt(s['knn_acc'])} | {_fmt(s.get('majority_rate'))} | {_fmt(s['silhouette'])} |"
        )
    data = {
        "embedding": emb,
        "label": features.label,
        "compression": features.compression,
        "key": features.key,
        "fused": features.fused,
    }
    _save(fig, Path(out), data, numbers, "\n".join(lines))
    return numbers


# ---------------------------------------------------------------------------- Figure 8


def figure8(panels: dict[str, FeatureSet], cfg: FiguresConfig, out: str | Path) -> dict:
    """Per ablation (``panels``: column title -> features): modalities before fusion (top) and fused (bottom)."""
    plt = _agg()
    fig, axes = plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 7), squeeze=False)
    numbers: dict = {"figure": "figure8", "tsne_seed": cfg.tsne_seed, "knn_k": cfg.knn_k, "panels": {}}
    data: dict[str, np.ndarray] = {}
    lines = [
        f"Figure 8: t-SNE per ablation (seed {cfg.tsne_seed}). Top: each modality's features before "
        "fusion (colour: modality; marker: real o / fake x); silhouette by modality (lower = modalities "
        "closer, better aligned). Bottom: fused features (colour: real/fake).",
        "",
        "| model | modalities | silhouette by modality (top) | k-NN real/fake acc, top | k-NN real/fake acc, fused "
        "| majority-class rate (k-NN chance) | silhouette real/fake, fused |",
        "|---|---|---|---|---|---|---|",
    ]
    colours = {"rppg": "tab:green", "landmarks": "tab:purple", "text": "tab:orange"}
    for col, (title, fs) in enumerate(panels.items()):
        slug = f"p{col}"
        mods = list(fs.modalities)
        stacked = np.concatenate([fs.modalities[m] for m in mods])
        modality = np.repeat(np.arange(len(mods)), len(fs))
        label = np.tile(fs.label, len(mods))
        top = tsne(stacked, cfg.tsne_seed, cfg.tsne_perplexity)
        bottom = tsne(fs.fused, cfg.tsne_seed, cfg.tsne_perplexity)
        n_top = separation(top, modality, cfg.knn_k) if len(mods) > 1 else {"knn_acc": None, "silhouette": None}
        nums = {
            "modalities": mods,
            "top_modality": n_top,
            "top_real_fake": separation(top, label, cfg.knn_k),
            "fused_real_fake": separation(bottom, fs.label, cfg.knn_k),
            "perplexity_top": effective_perplexity(len(top), cfg.tsne_perplexity),
            "perplexity_fused": effective_perplexity(len(bottom), cfg.tsne_perplexity),
            # e.g. text = 1 under the label-free default prompt: t-SNE spreads identical points arbitrarily
            "distinct_features": {m: int(len(np.unique(fs.modalities[m], axis=0))) for m in mods},
        }
        numbers["panels"][title] = nums
        ax = axes[0, col]
        for mi, m in enumerate(mods):
            for cls, mk in ((0, "o"), (1, "x")):
                sel = (modality == mi) & (label == cls)
                ax.scatter(
                    top[sel, 0],
                    top[sel, 1],
                    s=9,
                    c=colours.get(m, "grey"),
                    marker=mk,
                    alpha=0.7,
                    linewidths=0.6 if mk == "x" else 0,
                    label=f"{m} {CLASS_NAMES[cls]}",
                )
        nums["titles"] = [
            f"{title}\nby modality: sil {_fmt(n_top['silhouette'])}, {knn_text(n_top)}",
            f"fused: {knn_text(nums['fused_real_fake'])}, sil {_fmt(nums['fused_real_fake']['silhouette'])}",
        ]
        ax.set_title(nums["titles"][0], fontsize=9)
        ax.legend(fontsize=6, loc="best")
        ax = axes[1, col]
        _scatter_classes(ax, bottom, fs.label, np.full(len(fs), ""), [""])
        f = nums["fused_real_fake"]
        ax.set_title(nums["titles"][1], fontsize=9)
        ax.legend(fontsize=6, loc="best")
        for a in axes[:, col]:
            a.set_xticks([]), a.set_yticks([])
        data.update(
            {
                f"{slug}_top": top,
                f"{slug}_top_modality": modality,
                f"{slug}_top_label": label,
                f"{slug}_fused": bottom,
                f"{slug}_label": fs.label,
                f"{slug}_key": fs.key,
            }
        )
        lines.append(
            f"| {title} | {', '.join(mods)} | {_fmt(n_top['silhouette'])} | "
            f"{_fmt(nums['top_real_fake']['knn_acc'])} | {_fmt(f['knn_acc'])} | {_fmt(f.get('majority_rate'))} | "
            f"{_fmt(f['silhouette'])} |"
        )
    lines += [
        "",
        "k-NN accuracy is leave-one-out over the panel's videos; below the majority-class rate it means "
        "a video's nearest neighbours tend to carry the other label (e.g. a fake's features next to those of "
        "its own original, which shares its background and motion), not that the features separate the classes.",
    ]
    same = sorted({m for n in numbers["panels"].values() for m, k in n["distinct_features"].items() if k == 1})
    if same:
        lines += [
            "",
            f"{', '.join(same)}: one feature vector shared by every video (the label-free test prompt), "
            "so its points coincide in feature space; t-SNE spreads identical points arbitrarily.",
        ]
    data["titles"] = np.array(list(panels))
    data["modality_names"] = np.array(["|".join(fs.modalities) for fs in panels.values()])
    _save(fig, Path(out), data, numbers, "\n".join(lines))
    return numbers


# ---------------------------------------------------------------------------- Figure 9


def read_affinity_log(run: str | Path) -> pd.DataFrame:
    """A run's ``affinity.csv`` (written by the trainer every ``training.affinity_log_every`` steps)."""
    path = Path(run) / "affinity.csv"
    if not path.is_file():
        raise UmclError(
            "run has no affinity.csv",
            Path(run),
            "train it with training.affinity_log_every > 0 (the default) and a UMCL detector",
        )
    df = pd.read_csv(path)
    if "step" not in df.columns or len(df.columns) < 3:
        raise UmclError("affinity.csv has no step or no affinity column", path, "train the run again")
    return df


def affinity_columns(
    modalities: Sequence[str] = ("rppg", "landmarks", "text"), views: Sequence[str] = ("hq", "lq")
) -> list[str]:
    """The affinity log's columns ``{view}_{class}_{m1}-{m2}`` (UMCLDetector.affinity_scores) for these modalities."""
    pairs = [f"{a}-{b}" for i, a in enumerate(modalities) for b in modalities[i + 1 :]]
    return [f"{v}_{c}_{p}" for v in views for c in CLASS_NAMES for p in pairs]


def affinity_series(df: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Modality pair -> {"HQ real": column, ...} from the columns ``{view}_{class}_{pair}``."""
    pairs: dict[str, dict[str, str]] = {}
    for col in df.columns:
        parts = col.split("_", 2)
        if len(parts) == 3 and parts[1] in CLASS_NAMES:
            pairs.setdefault(parts[2], {})[f"{parts[0].upper()} {parts[1]}"] = col
    return pairs


def figure9(df: pd.DataFrame, out: str | Path, run_name: str = "") -> dict:
    """One panel per modality pair: affinity vs training step, HQ/LQ x real/fake."""
    plt = _agg()
    pairs = affinity_series(df)
    if not pairs:
        raise UmclError(
            "affinity log holds no {view}_{class}_{pair} column", fix="train a UMCL run with two modalities"
        )
    # constrained layout keeps each panel's axis labels clear of its neighbour
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.4), squeeze=False, layout="constrained")
    tail = max(1, len(df) // 5)
    numbers: dict = {
        "figure": "figure9",
        "run": run_name,
        "steps": int(df["step"].max()),
        "points": len(df),
        "final_window": tail,
        "pairs": {},
    }
    lines = [
        f"Figure 9: modality-pair affinities during training ({run_name}; {len(df)} logged steps). "
        f"Numbers: mean over the last {tail} logged steps.",
        "",
        "| pair | series | final mean | first value |",
        "|---|---|---|---|",
    ]
    styles = {
        "HQ real": ("tab:blue", "-"),
        "HQ fake": ("tab:red", "-"),
        "LQ real": ("tab:blue", "--"),
        "LQ fake": ("tab:red", "--"),
    }
    for ax, (pair, series) in zip(axes[0], sorted(pairs.items()), strict=True):
        nums = {}
        for name, col in sorted(series.items()):
            colour, ls = styles.get(name, ("grey", ":"))
            valid = df[["step", col]].dropna()
            ax.plot(valid["step"], valid[col], color=colour, linestyle=ls, label=name, lw=1.2)
            final = float(valid[col].tail(tail).mean()) if len(valid) else None
            nums[name] = {"final_mean": final, "first": float(valid[col].iloc[0]) if len(valid) else None}
            lines.append(f"| {pair} | {name} | {_fmt(final)} | {_fmt(nums[name]['first'])} |")
        numbers["pairs"][pair] = nums
        ax.set_title(pair, fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("affinity")
        ax.legend(fontsize=7)
    _save(fig, Path(out), df, numbers, "\n".join(lines))
    return numbers


def figure_index_line(path: Path, numbers: dict) -> str:
    """One line of reports/index.md for a figure's ``.json`` (its picture, PDF, caption and data)."""
    stem = path.stem
    data = "csv" if numbers.get("figure") == "figure9" else "npz"
    if numbers.get("figure") == "figure6":
        a = numbers.get("all", {})
        what = (
            f"t-SNE of UMCL's fused features (trained on {numbers.get('train_compression')}): real/fake "
            f"{knn_text(a)}, silhouette {_fmt(a.get('silhouette'))}"
        )
    elif numbers.get("figure") == "figure8":
        what = "t-SNE per ablation, fused real/fake: " + ", ".join(
            f"{t} {knn_text(p['fused_real_fake'])}" for t, p in numbers.get("panels", {}).items()
        )
    else:
        what = f"modality-pair affinities during training ({numbers.get('points')} logged steps)"
    return (
        f"- [{stem.capitalize()}]({stem}.png) ([PDF]({stem}.pdf), [numbers]({stem}.md), [data]({stem}.{data})): {what}."
    )


__all__ = [
    "figure_index_line",
    "affinity_columns",
    "FiguresConfig",
    "FIGURES",
    "tsne",
    "knn_accuracy",
    "separation",
    "effective_perplexity",
    "figure6",
    "figure8",
    "figure9",
    "read_affinity_log",
    "affinity_series",
]
