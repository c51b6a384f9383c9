"""Train OpenSoundscape 0.13.2 with its own defaults on Chorus clip tables, score test clips.

A benchmark reference, not a Chorus dependency. Run it with the venv made by
Benchmarks/reference/make-venv:

    Benchmarks/reference/.venv/bin/python Benchmarks/reference/opensoundscape_recipe.py \\
        --train train.csv --validation validation.csv [--overlays overlays.csv] --test test.csv \\
        --epochs 10 --batch-size 64 --seed 1 --out runs/oss

What is OpenSoundscape's own (0.13.2) and kept as is: CNN('resnet18', classes, sample_duration,
sample_rate) and its default SpectrogramPreprocessor pipeline and parameters, AdamW(lr 1e-3,
weight decay 5e-4), CosineAnnealingWithWarmupScheduler(max_steps=1000, warmup_fraction=0.05,
final_lr_ratio=0.1) stepped once per batch, BCEWithLogitsLoss, the bf16 CPU autocast of its
training_step (--autocast off: float32), shuffled batches with a partial last batch, model
selection by the validation "auroc" (torchmetrics MultilabelAUROC, 50 thresholds, macro; a
later epoch must be strictly better) with the best weights reloaded at the end, and predict()
without augmentation.

What this script chooses: weights start random (arch_weights=None) because no ImageNet download
is possible here; sample_duration is the clip length of the table rows; the image is resized to
--image-size (OpenSoundscape's default is the native spectrogram size: pass "native"); training
runs as --epochs passes over the table (OpenSoundscape counts steps: each epoch is one
CNN.train(steps=ceil(rows/batch)) call, which resumes optimizer and scheduler state), and
validation runs after the last batch of each epoch with OpenSoundscape's run_evaluation
(its own train() would validate after the first batch of every validation_interval steps).
"""

import argparse
import csv
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

RECIPES = {
    "default": "OpenSoundscape's default pipeline; overlays are mixed as audio when --overlays is given",
    "no-augment": "every augmentation action bypassed (overlays too)",
    "overlays-only": "only the overlay action (needs --overlays); the other augmentations bypassed",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Train OpenSoundscape 0.13.2 (resnet18, its own defaults, RANDOM initial "
        "weights: no ImageNet download is possible here) on OpenSoundscape-format clip tables "
        "(file,start_time,end_time,<class>... with 0/1, as written by `train-gpu labels`/`split`) "
        "and write scores.csv (sigmoid scores per test clip) and summary.json to --out. "
        "Relative audio paths resolve against the current directory, then the CSV's folder.",
        epilog="recipes: " + "; ".join(f"{k}: {v}" for k, v in RECIPES.items()),
    )
    p.add_argument("--train", required=True, help="training clip table (CSV)")
    p.add_argument("--validation", required=True, help="validation clip table (CSV)")
    p.add_argument("--overlays", help="overlay clip table (CSV); class columns are matched to the training classes by name, absent ones are 0")
    p.add_argument("--test", required=True, help="test clip table (CSV); its label columns are ignored")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=64, help="default 64 (OpenSoundscape's train() default)")
    p.add_argument("--image-size", default="224x224", help="HxW, or 'native' for OpenSoundscape's default (no resize) [224x224]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--sample-rate", type=int, default=None, help="resample to this rate (default: keep each file's rate, OpenSoundscape's sample_rate=None)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers, at most 2 (default 0, OpenSoundscape's default)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="default")
    p.add_argument("--lr-schedule", choices=["oss", "run"], default="oss",
                   help="oss: scheduler max_steps=1000 whatever the run length (OpenSoundscape's default); run: max_steps = the run's total batches")
    p.add_argument("--autocast", choices=["oss", "off"], default="oss",
                   help="oss: training forward under torch.autocast('cpu', bfloat16) as OpenSoundscape's training_step does "
                   "(slow on CPUs without native bf16); off: float32 training")
    a = p.parse_args(argv)
    if a.image_size == "native":
        a.height = a.width = None
    else:
        try:
            a.height, a.width = (int(v) for v in a.image_size.lower().split("x"))
        except ValueError:
            p.error(f"--image-size must be HxW or 'native', got {a.image_size!r}")
    if not 0 <= a.workers <= 2:
        p.error("--workers must be 0, 1 or 2 (this machine has 2 cores)")
    if a.recipe == "overlays-only" and not a.overlays:
        p.error("--recipe overlays-only needs --overlays")
    if a.epochs < 1 or a.batch_size < 1:
        p.error("--epochs and --batch-size must be positive")
    return a


def read_table(path):
    """Reads a clip table; returns (rows as the CSV's text, classes, DataFrame for OpenSoundscape).

    The DataFrame has the MultiIndex (file, start_time, end_time) with file resolved as Chorus does
    (as given if it exists, else beside the CSV) and one float column per class."""
    with open(path, newline="") as f:
        records = list(csv.reader(f))
    header = [h.strip() for h in records[0]]
    if header[:3] != ["file", "start_time", "end_time"]:
        sys.exit(f"{path}: header must start with file,start_time,end_time")
    classes = header[3:]
    base = Path(path).parent
    rows, index, labels = [], [], []
    for line, r in enumerate(records[1:], start=2):
        if not r:
            continue
        if len(r) != len(header):
            sys.exit(f"{path}:{line}: {len(r)} fields, header has {len(header)}")
        file = r[0]
        resolved = file if os.path.exists(file) else (str(base / file) if not os.path.isabs(file) else file)
        if not os.path.exists(resolved):
            sys.exit(f"{path}:{line}: audio file {file!r} not found (current directory, then {base})")
        rows.append(r[:3])
        index.append((os.path.abspath(resolved), float(r[1]), float(r[2])))
        labels.append([float(v) for v in r[3:]])
    idx = pd.MultiIndex.from_tuples(index, names=["file", "start_time", "end_time"])
    return rows, classes, pd.DataFrame(labels, index=idx, columns=classes)


def describe_pipeline(pre):
    out = []
    for k, a in pre.pipeline.items():
        fn = getattr(a, "action_fn", None)
        params = {p: v for p, v in dict(a.params).items() if not callable(v)}
        out.append({"name": k, "action": type(a).__name__ + (f"({fn.__name__})" if fn is not None else ""),
                    "augmentation": bool(a.is_augmentation), "bypass": bool(a.bypass),
                    "params": json.loads(json.dumps(params, default=str))})
    return out


def main(argv=None):
    a = parse_args(argv)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")

    import opensoundscape
    from opensoundscape import CNN

    if a.autocast == "off":  # OpenSoundscape's training_step calls torch.autocast(device_type=, dtype=)
        autocast = torch.autocast
        torch.autocast = lambda *args, **kwargs: autocast(*args, **{**kwargs, "enabled": False})

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    _, classes, train_df = read_table(a.train)
    _, vclasses, val_df = read_table(a.validation)
    test_rows, _, test_df = read_table(a.test)
    if vclasses != classes:
        sys.exit(f"validation classes {vclasses} differ from training classes {classes}")
    durations = np.round((train_df.index.get_level_values(2) - train_df.index.get_level_values(1)).to_numpy(), 6)
    if len(set(durations)) != 1:
        sys.exit(f"training clips have several lengths {sorted(set(durations))}; sample_duration needs one")
    sample_duration = float(durations[0])
    overlay_df = None
    if a.overlays and a.recipe != "no-augment":
        _, oclasses, odf = read_table(a.overlays)
        overlay_df = odf.reindex(columns=classes, fill_value=0.0)

    model = CNN("resnet18", classes, sample_duration=sample_duration, sample_rate=a.sample_rate,
                arch_weights=None, height=a.height, width=a.width, overlay_samples=overlay_df,
                device="cpu")
    model.verbose = 0
    # train() writes best/last model files at every call; they are not used here, so they are not
    # written (keeps disk I/O out of the timed training)
    model.save = lambda *args, **kwargs: None
    pre = model.preprocessor
    for name, action in pre.pipeline.items():
        if not action.is_augmentation:
            continue
        if a.recipe == "no-augment" or (a.recipe == "overlays-only" and name != "overlay"):
            action.bypass = True
    steps_per_epoch = math.ceil(len(train_df) / a.batch_size)
    total_steps = steps_per_epoch * a.epochs
    if a.lr_schedule == "run":
        model.lr_scheduler_params["kwargs"]["max_steps"] = total_steps

    epochs, lrs = [], []
    best = {"score": -np.inf, "epoch": None, "weights": None}
    train_seconds = val_seconds = 0.0
    t_all = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        for epoch in range(1, a.epochs + 1):
            t0 = time.time()
            n_loss = len(model.loss_hist)
            model.train(train_df, validation_df=None, steps=steps_per_epoch, batch_size=a.batch_size,
                        num_workers=a.workers, save_path=scratch, log_interval=steps_per_epoch,
                        validation_interval=steps_per_epoch, progress_bar=False,
                        reload_best_at_end=False, invalid_samples_log=str(out / "invalid_training_samples.log"))
            train_seconds += time.time() - t0
            lrs.append(model.optimizer.param_groups[0]["lr"])
            t1 = time.time()
            m = model.run_evaluation(val_df, progress_bar=False, batch_size=a.batch_size, num_workers=a.workers)
            val_seconds += time.time() - t1
            score = float(m[model.score_metric])
            row = {"epoch": epoch, "train_loss": float(np.mean(model.loss_hist[n_loss:])),
                   "validation_" + model.score_metric: score, "validation_map": float(m["map"]),
                   "per_class": {c: {k: (None if v != v else float(v)) for k, v in m[c].items()} for c in classes},
                   "lr_after_epoch": lrs[-1], "seconds": time.time() - t0}
            epochs.append(row)
            print(f"epoch {epoch}/{a.epochs}: loss {row['train_loss']:.4f} validation {model.score_metric} {score:.4f} "
                  f"map {row['validation_map']:.4f} ({row['seconds']:.1f} s)", flush=True)
            if score > best["score"]:  # OpenSoundscape's rule: strictly better replaces the best
                best = {"score": score, "epoch": epoch,
                        "weights": {k: v.detach().clone() for k, v in model.network.state_dict().items()}}
    wall = time.time() - t_all
    if best["weights"] is not None:  # reload_best_at_end
        model.network.load_state_dict(best["weights"])

    t2 = time.time()
    scores = model.predict(test_df, batch_size=a.batch_size, num_workers=a.workers,
                           activation_layer="sigmoid", progress_bar=False)
    test_seconds = time.time() - t2
    with open(out / "scores.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "start_time", "end_time"] + classes)
        for r, s in zip(test_rows, scores[classes].to_numpy()):
            w.writerow(r + [repr(float(v)) for v in s])

    import torchvision
    summary = {
        "toolkit": "opensoundscape",
        "versions": {"opensoundscape": opensoundscape.__version__, "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "recipe": a.recipe, "recipe_description": RECIPES[a.recipe],
        "train_wall_seconds": train_seconds, "validation_wall_seconds": val_seconds,
        "train_and_validation_wall_seconds": wall, "test_wall_seconds": test_seconds,
        "train_samples_per_second": len(train_df) * a.epochs / train_seconds,
        "epochs": a.epochs, "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
        "score_metric": "validation_" + model.score_metric,
        "per_epoch": epochs, "best_epoch": best["epoch"], "best_validation_score": best["score"],
        "rows": {"train": len(train_df), "validation": len(val_df), "test": len(test_df),
                 "overlays": 0 if overlay_df is None else len(overlay_df)},
        "settings": {
            "args": {k: v for k, v in vars(a).items()},
            "classes": classes, "sample_duration": sample_duration, "sample_rate": a.sample_rate,
            "architecture": "resnet18 (torchvision), 1 input channel, random initial weights",
            "image": {"height": pre.height, "width": pre.width, "channels": pre.channels},
            "optimizer": {"class": model.optimizer_params["class"].__name__, **model.optimizer_params["kwargs"],
                          "defaults": {k: v for k, v in model.optimizer.defaults.items() if isinstance(v, (int, float, bool, tuple, type(None)))}},
            "lr_scheduler": {"class": model.lr_scheduler_params["class"].__name__, **model.lr_scheduler_params["kwargs"],
                             "stepped": "once per batch", "lr_after_each_epoch": lrs},
            "loss": type(model.loss_fn).__name__,
            "training_autocast": "torch.autocast('cpu', bfloat16) (OpenSoundscape training_step)" if a.autocast == "oss" else "off (float32)",
            "torch_threads": torch.get_num_threads(), "workers": a.workers, "seed": a.seed,
            "pipeline": describe_pipeline(pre),
        },
    }
    with open(out / "summary.json", "w") as f:
        json.dump(summary, f, indent=2, default=str)
    print(f"trained {a.epochs} epochs in {train_seconds:.1f} s ({summary['train_samples_per_second']:.1f} samples/s), "
          f"best epoch {best['epoch']}; wrote {out / 'scores.csv'} ({len(test_rows)} rows) and {out / 'summary.json'}")


if __name__ == "__main__":
    main()
