"""Does an inter-class image carry its requested class or its source's? A judge's verdicts by source class.

    python benchmarks/inter_source_effect.py WORKDIR SYNTHETIC --classifier BENCH_OUT/runs/b_seed0 --out /tmp/source

An inter-class item (`skinaug augment --mode inter`) regenerates the lesion of a train image of another class
(its source) as the requested class, keeping the source's surroundings and lesion outline. If the judge (a
classifier trained on real images only) names the source's class rather than the requested one, the image
teaches the classifier a wrong label. Per requested class: the judge's recall of the requested class, the share
it gives to the source's class, and the recall split by the source's class; beside them, the judge's recall of
the sources themselves (the same judge on the real train images used as sources: how recognisable the
surroundings are to begin with). Writes OUT/inter_source_effect.md and .json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from skinaug.atomic import write_json, write_text
from skinaug.classifiers.saved import load_classifier
from skinaug.classifiers.train import make_loader, predict_proba
from skinaug.data.datasets import real_dataset, synthetic_dataset
from skinaug.data.transforms import eval_transform
from skinaug.labels import CLASSES


def verdicts(workdir: Path, synthetic: Path, classifier: Path) -> pd.DataFrame:
    """One row per inter item: requested class, source class, the judge's class for the item and for its source."""
    model, meta = load_classifier(classifier)
    size = int(meta["image_size"])
    syn = synthetic_dataset(synthetic, workdir, size, eval_transform())
    inter = (syn.frame["mode"] == "inter").to_numpy()
    if not inter.any():
        raise SystemExit(f"{synthetic}: no inter-class items (made with `skinaug augment --mode inter`?)")
    proba, _ = predict_proba(model, make_loader(syn, 64, 0), channels_last=False)
    items = syn.frame.assign(judged=[CLASSES[i] for i in proba.argmax(1)])[inter]
    train = real_dataset(workdir, "train", size, eval_transform())
    train_proba, _ = predict_proba(model, make_loader(train, 64, 0), channels_last=False)
    source_judged = dict(zip(train.frame["image_id"], (CLASSES[i] for i in train_proba.argmax(1))))
    source_label = dict(zip(train.frame["image_id"], train.frame["label"]))  # every source is a train image
    return pd.DataFrame(
        {
            "requested": items["label"].to_numpy(),
            "source": [source_label[i] for i in items["source_image_id"]],
            "judged": items["judged"].to_numpy(),
            "source_judged": [source_judged[i] for i in items["source_image_id"]],
        }
    )


def summarise(table: pd.DataFrame) -> dict[str, dict[str, float | int | dict[str, float]]]:
    """Per requested class (and 'all', the mean over classes): n, recall, share judged as the source's class,
    recall by source class, and the judge's recall of the sources themselves."""
    rows: dict[str, dict[str, float | int | dict[str, float]]] = {}
    for c in CLASSES:
        t = table[table["requested"] == c]
        if t.empty:
            continue
        by_source = t.groupby("source")["judged"].apply(lambda j, c=c: float((j == c).mean()))
        rows[c] = {
            "n": len(t),
            "recall": float((t["judged"] == c).mean()),
            "judged_as_source": float((t["judged"] == t["source"]).mean()),
            "sources_recognised": float((t["source_judged"] == t["source"]).mean()),
            "recall_by_source": {s: float(v) for s, v in by_source.items()},
            "n_by_source": {s: int(v) for s, v in t["source"].value_counts().items()},
        }
    keys = ("recall", "judged_as_source", "sources_recognised")
    rows["all"] = {"n": len(table), **{k: float(np.mean([rows[c][k] for c in rows])) for k in keys}}  # type: ignore[arg-type]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("synthetic", type=Path)
    parser.add_argument("--classifier", type=Path, required=True, help="a saved real-trained classifier (judge)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/skinaug-inter-source"))
    args = parser.parse_args()
    rows = summarise(verdicts(args.workdir, args.synthetic, args.classifier))
    sources = [s for s in CLASSES if any(s in r.get("n_by_source", {}) for r in rows.values())]
    lines = [
        f"# Inter-class images: requested class against source class ({rows['all']['n']} images)",
        "",
        f"Set: {args.synthetic}. Judge: {args.classifier} (trained on real images only). Recall: the judge names the "
        "requested class; judged as source: it names the class of the train image whose surroundings and lesion "
        "outline the item keeps; sources recognised: the judge names the source's class on the source itself.",
        "",
        "| requested | n | recall | judged as source | sources recognised | "
        + " | ".join(f"recall, {s} sources" for s in sources)
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(sources),
    ]
    for c, r in rows.items():
        by = r.get("recall_by_source", {})
        counts = r.get("n_by_source", {})
        cells = [f"{by[s]:.2f} ({counts[s]})" if s in by else "—" for s in sources]  # type: ignore[index,operator]
        lines.append(
            f"| {c} | {r['n']} | {r['recall']:.3f} | {r['judged_as_source']:.3f} | {r['sources_recognised']:.3f} | "
            + " | ".join(cells if c != "all" else ["" for _ in sources])
            + " |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "inter_source_effect.json", {"synthetic": str(args.synthetic), "rows": rows})
    write_text(args.out / "inter_source_effect.md", "\n".join(lines) + "\n")
    print(f"-> {args.out / 'inter_source_effect.md'}")


if __name__ == "__main__":
    main()
