#!/usr/bin/env python
"""Reference fixtures for Chorus's augmentation: OpenSoundscape 0.13.2's augmentation functions run
on small fixed inputs with REPLAYED random draws.

Every random call the functions make (Python `random`, `numpy.random`, torch's `Tensor.uniform_`)
is replaced by one that consumes the next value u in [0, 1) of a given list, with these formulas
(Chorus's `UniformDraws` uses the same ones, so both sides see the same choices):

    random.randint(a, b)        a + int(u * (b - a + 1))
    random.randrange(a, b)      a + int(u * (b - a))
    random.uniform(a, b)        a + (b - a) * u
    random.random()             u
    random.choice(seq)          seq[int(u * len(seq))]
    np.random.randint(a, b)     a + int(u * (b - a))
    np.random.uniform(a, b, n)  n draws of a + (b - a) * u (one draw when n is None)
    tensor.uniform_(a, b)       a + (b - a) * u per element (torchvision's RandomAffine.get_params)

Noise SAMPLES (np.random.randn, torch normal_) are not replayed: they come from seeded generators,
and only noise LEVELS are compared. Inputs are generated from integer formulas that Swift computes
bit for bit (see `signal` and `image`), so the fixture stores their parameters, not the samples.

Run with the reference venv (Benchmarks/reference/make-venv), from any directory but the package's:
    Benchmarks/reference/.venv/bin/python Benchmarks/reference/augmentation_fixtures.py
It writes Tests/PipelineTests/Fixtures/reference-augmentation.json.
"""

import contextlib
import json
import math
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import torch
import torchvision

import opensoundscape
from opensoundscape.audio import Audio
from opensoundscape.preprocess import action_functions, tensor_augment
from opensoundscape.preprocess.overlay import overlay
from opensoundscape.preprocess.preprocessors import SpectrogramPreprocessor
from opensoundscape.sample import AudioSample

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/PipelineTests/Fixtures/reference-augmentation.json"


# ----------------------------------------------------------------------------------------------
# Replayed draws
# ----------------------------------------------------------------------------------------------
class Replay:
    def __init__(self, draws):
        self.draws = [float(d) for d in draws]
        self.i = 0
        self.log = []  # (call, args, result) in call order

    def u(self):
        if self.i >= len(self.draws):
            raise RuntimeError(f"the reference asked for more than {len(self.draws)} draws")
        v = self.draws[self.i]
        self.i += 1
        return v


@contextlib.contextmanager
def replayed(draws, zero_randn=False):
    """Within the block, every random call consumes `draws` (see the module docstring)."""
    r = Replay(draws)

    def note(name, args, value):
        r.log.append((name, list(args), value))
        return value

    def randint(a, b):
        return note("random.randint", (a, b), a + int(r.u() * (b - a + 1)))

    def randrange(start, stop=None, step=1):
        if stop is None:
            start, stop = 0, start
        assert step == 1
        if stop <= start:
            raise ValueError(f"empty range for randrange({start}, {stop})")
        return note("random.randrange", (start, stop), start + int(r.u() * (stop - start)))

    def uniform(a, b):
        return note("random.uniform", (float(a), float(b)), a + (b - a) * r.u())

    def rand():
        return note("random.random", (), r.u())

    def choice(seq):
        k = int(r.u() * len(seq))
        note("random.choice", (len(seq),), k)
        return seq[k]

    def np_randint(low, high=None, size=None, dtype=int):
        assert size is None
        if high is None:
            low, high = 0, low
        return note("np.random.randint", (int(low), int(high)), int(low) + int(r.u() * (high - low)))

    def np_uniform(low=0.0, high=1.0, size=None):
        if size is None:
            return note("np.random.uniform", (float(low), float(high)), low + (high - low) * r.u())
        v = np.array([low + (high - low) * r.u() for _ in range(int(size))], dtype=np.float64)
        note("np.random.uniform", (float(low), float(high), int(size)), [float(x) for x in v])
        return v

    def uniform_(self, a=0.0, b=1.0, generator=None):
        with torch.no_grad():
            flat = self.view(-1)
            for k in range(flat.numel()):
                flat[k] = a + (b - a) * r.u()
        note("torch.uniform_", (float(a), float(b)), [float(x) for x in self.view(-1)])
        return self

    saved = [
        (random, "randint", randint), (random, "randrange", randrange), (random, "uniform", uniform),
        (random, "random", rand), (random, "choice", choice),
        (np.random, "randint", np_randint), (np.random, "uniform", np_uniform),
        (torch.Tensor, "uniform_", uniform_),
    ]
    if zero_randn:
        saved.append((np.random, "randn", lambda *shape: np.zeros(shape) if shape else 0.0))
    originals = [(m, n, getattr(m, n)) for m, n, _ in saved]
    for m, n, f in saved:
        setattr(m, n, f)
    try:
        yield r
    finally:
        for m, n, f in originals:
            setattr(m, n, f)


def draws(seed, count):
    """Uniforms in [0, 1) for a case (stored in the fixture, so any source would do)."""
    g = np.random.default_rng(seed)
    return [float(x) for x in g.random(count)]


# ----------------------------------------------------------------------------------------------
# Inputs Swift regenerates bit for bit (integer arithmetic, one correctly rounded division and
# one product in float64, then float32)
# ----------------------------------------------------------------------------------------------
def signal(spec):
    """x[t] = float32((((t*a + b) % m) - h) / h * amp), h = (m - 1) / 2 (m odd): distinct values
    when m > length and gcd(a, m) = 1, uniform in [-amp, amp]."""
    a, b, m, amp, n = spec["a"], spec["b"], spec["m"], spec["amp"], spec["length"]
    h = (m - 1) // 2
    return np.array([(((t * a + b) % m) - h) / h * amp for t in range(n)], dtype=np.float32)


def image(spec):
    """v[y, x] = float32(((i*a + b) % m) / (m - 1)), i = y*width + x: an image in [0, 1]."""
    a, b, m, hgt, wid = spec["a"], spec["b"], spec["m"], spec["height"], spec["width"]
    return np.array([((i * a + b) % m) / (m - 1) for i in range(hgt * wid)], dtype=np.float32).reshape(1, hgt, wid)


def f32(values):
    """float32 values as the shortest decimals that round-trip (small JSON)."""
    return [float(np.format_float_positional(np.float32(v), unique=True, trim="-")) for v in np.asarray(values).ravel()]


def rms(x):
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def sig_spec(seed, length, amp, a=7919, m=65521):
    return {"a": a, "b": seed, "m": m, "amp": amp, "length": length}


# ----------------------------------------------------------------------------------------------
# Image masks: tensor_augment.freq_mask / time_mask (classic: 3 bars, 0.2) and the current
# action_functions.frequency_mask (3 bars, 0.05). Masks apply on [0, 1] images before
# scale_tensor(0.5, 0.5); the fixture stores the rescaled result, Chorus's range [-1, 1].
# ----------------------------------------------------------------------------------------------
def bars_from_log(log, F):
    """[start, end) of each bar of one freq_mask/time_mask call, from its logged draws: randint(1,
    max) bars, each randrange(0, F) = f, randrange(0, axis - f) = start, then randrange(start,
    start + f) = end, or end = start + F without a draw when f = 0."""
    assert log[0][0] == "random.randint"
    bars, i = [], 1
    for _ in range(log[0][2]):
        f, start = log[i][2], log[i + 1][2]
        if f != 0:
            bars.append([start, log[i + 2][2]])
            i += 3
        else:
            bars.append([start, start + F])
            i += 2
    assert i == len(log)
    return bars


def mask_cases():
    cases = []
    specs = [
        # name, pipeline, steps, fraction, image height and width, draws (mostly chosen so that bars have a width)
        ("classic frequency", "classic", ["frequency"], 0.2, 48, 16, [0.9, 0.7, 0.3, 0.9, 0.4, 0.6, 0.5, 0.95, 0.1, 0.99]),
        ("classic time", "classic", ["time"], 0.2, 48, 16, [0.5, 0.8, 0.5, 0.9, 0.7, 0.2, 0.7]),
        ("classic time then frequency", "classic", ["time", "frequency"], 0.2, 48, 16,
         [0.99, 0.9, 0.1, 0.8, 0.7, 0.95, 0.6, 0.4, 0.5, 0.99, 0.2, 0.9, 0.8, 0.5, 0.95, 0.75, 0.45, 0.8]),
        # bar 0 has f = 0 (the reference's quirk: the bar is then F wide); bar 1 overlaps it; bar 2 has width 0
        ("classic frequency f=0, overlap, empty bar", "classic", ["frequency"], 0.2, 48, 16, [0.9, 0.01, 0.5, 0.9, 0.5, 0.7, 0.35, 0.5, 0.1]),
        ("audio frequency", "audio", ["frequency"], 0.05, 64, 12, [0.99, 0.9, 0.5, 0.8, 0.2, 0.1, 0.7, 0.99, 0.6]),
        ("audio frequency, random draws", "audio", ["frequency"], 0.05, 64, 12, draws(16, 12)),
    ]
    for name, pipeline, steps, fraction, height, width, d in specs:
        img_spec = {"a": 7919, "b": len(cases) + 11, "m": 65521, "height": height, "width": width}
        x = torch.from_numpy(image(img_spec))
        with replayed(d) as r:
            y = x
            per_step = []
            for step in steps:
                start = len(r.log)
                if pipeline == "audio":
                    # the registered (second) definition: 3 bars, 0.05 of the height
                    y = action_functions.frequency_mask(y, max_masks=3, max_width=fraction)
                    F = int(y.shape[-2] * fraction)
                elif step == "time":
                    F = int(y.shape[-1] * fraction)
                    y = tensor_augment.time_mask(y.unsqueeze(0), T=F, max_masks=3).squeeze(0)
                else:
                    F = int(y.shape[-2] * fraction)
                    y = tensor_augment.freq_mask(y.unsqueeze(0), F=F, max_masks=3).squeeze(0)
                bars = bars_from_log(r.log[start:], F)
                per_step.append({"axis": step, "F": F, "bars": bars})
            used = r.i
        # the fill of each bar: the mean of the image as it was when that bar was drawn
        z = x.clone()
        fills = []
        for s in per_step:
            for a, b in s["bars"]:
                m = z.mean(dim=(0, 1, 2))
                fills.append(float(m))
                if s["axis"] == "time":
                    z[:, :, a:b] = m
                else:
                    z[:, a:b, :] = m
        assert torch.equal(z, y), name
        out = action_functions.scale_tensor(y, input_mean=0.5, input_std=0.5)
        cases.append({
            "name": name, "pipeline": pipeline, "steps": steps, "maxBars": 3, "fraction": fraction,
            "image": img_spec, "draws": d[:used], "bars": per_step,
            "fills01": fills, "output": f32(out.numpy()),
        })
    return cases


# ----------------------------------------------------------------------------------------------
# Audio steps
# ----------------------------------------------------------------------------------------------
def gain_cases():
    out = []
    for name, amp, u, seed in [("loud", 0.6, 0.3, 1), ("mid", 0.08, 0.75, 2), ("quiet (below the floor: boosted)", 0.002, 0.6, 3),
                               ("over full scale (clipped)", 1.6, 0.95, 4)]:
        spec = sig_spec(seed, 200, amp)
        x = signal(spec)
        a = Audio(x, 8000)
        with replayed([u]) as r:
            y = action_functions.adaptive_random_gain(a)
        g = r.log[0][2]
        out.append({"name": name, "signal": spec, "sampleRate": 8000, "draws": [u], "dBFS": float(a.dBFS),
                    "gainDB": float(g), "factor": 10 ** (g / 20), "output": f32(y.samples)})
    return out


def noise_cases():
    out = []
    for name, amp, u, seed in [("level -5 dB", 0.3, 0.75, 21), ("level -17 dB", 0.05, 0.15, 22), ("loud, clipped", 0.95, 0.98, 23)]:
        spec = sig_spec(seed, 8000, amp)
        x = signal(spec)
        a = Audio(x, 8000)
        np.random.seed(seed)
        with replayed([u]) as r:
            y = action_functions.adaptive_random_noise(a)
        offset = r.log[0][2]
        noise = y.samples.astype(np.float64) - x
        out.append({"name": name, "signal": spec, "sampleRate": 8000, "draws": [u], "noiseOffsetDB": float(offset),
                    "noiseDBFS": float(a.dBFS + offset), "noiseRMS": 10 ** ((a.dBFS + offset) / 20) / math.sqrt(2),
                    "realizedNoiseRMS": rms(noise), "samples": len(x)})
    return out


def wrap_cases():
    out = []
    spec = sig_spec(31, 8000, 0.3)
    x = signal(spec)
    for u in [[0.2, 0.3125], [0.5, 0.9], [0.7], [0.05, 0.000001]]:
        with replayed(u) as r:
            y = action_functions.random_wrap_audio(Audio(x, 8000), probability=0.5)
        split = None
        if r.i == 2:
            split = int(np.nonzero(x == y.samples[0])[0][0])
            assert np.array_equal(np.concatenate([x[split:], x[:split]]), y.samples)
        else:
            assert np.array_equal(x, y.samples)
        out.append({"signal": spec, "sampleRate": 8000, "draws": u[: r.i], "split": split})
    return out


def runs(mask):
    """[start, end) runs of True."""
    out, t, n = [], 0, len(mask)
    while t < n:
        if mask[t]:
            s = t
            while t < n and mask[t]:
                t += 1
            out.append([s, t])
        else:
            t += 1
    return out


def decompose_time_mask(x, y):
    """Masked runs and, for each stretch of kept audio, (output start, output end, source start),
    found by matching values (x has distinct values; noise never equals one of them)."""
    index = {float(v): k for k, v in enumerate(x)}
    src = np.array([index.get(float(v), -1) for v in y])
    masked = src < 0
    segments = []
    t = 0
    while t < len(y):
        if masked[t]:
            t += 1
            continue
        s = t
        while t < len(y) and not masked[t] and src[t] - t == src[s] - s:
            t += 1
        segments.append([s, t, int(src[s])])
    return runs(masked), segments


def time_mask_cases():
    out = []
    for name, amp, seed, forced in [("5 masks", 0.3, 41, [0.5]), ("10 masks", 0.3, 42, [0.99]), ("no masks", 0.3, 43, [0.05]),
                                    ("loud: mask noise clipped", 0.9, 44, [0.7])]:
        spec = sig_spec(seed, 8000, amp)
        x = signal(spec)
        a = Audio(x, 8000)
        d = draws(seed, 30)
        d[: len(forced)] = forced
        np.random.seed(seed)
        with replayed(d) as r:
            y = action_functions.audio_time_mask(a)
        used = r.i
        masks, segments = decompose_time_mask(x, y.samples)
        noise = np.concatenate([y.samples[s:e] for s, e in masks]) if masks else np.array([])
        out.append({"name": name, "signal": spec, "sampleRate": 8000, "draws": d[:used], "masks": masks, "segments": segments,
                    "noiseRMS": 10 ** ((a.dBFS + 10) / 20) / math.sqrt(2),
                    "realizedNoiseRMS": rms(noise) if len(noise) else None, "noiseSamples": int(len(noise))})
    return out


def overlay_cases():
    """overlay() on audio: blend x*(1-w) + o*w and the label union, with a stand-in preprocessor
    whose forward returns the overlay clip as given (the overlay's own trim and gain are covered
    by the pipeline case)."""
    out = []
    classes = ["A", "B", "C"]
    rows = [("o0.wav", 0.0, 1.0, [0, 1, 0]), ("o1.wav", 0.0, 1.0, [0, 0, 1]), ("o2.wav", 0.0, 1.0, [1, 0, 0])]
    index = pd.MultiIndex.from_tuples([(f, s, e) for f, s, e, _ in rows], names=["file", "start_time", "end_time"])
    overlay_df = pd.DataFrame([l for *_, l in rows], index=index, columns=classes)
    specs = {f: sig_spec(60 + k, 256, 0.4) for k, (f, *_rest) in enumerate(rows)}

    class Stand:
        def forward(self, sample, break_on_key=None):
            sample.data = Audio(signal(specs[str(sample.source)]), 256)
            return sample

    for name, cls, weight, d, labels in [
        ("weight 0.5, any", None, 0.5, [0.1, 0.5, 0.3], [1, 0, 0]),
        ("weight range 0.2-0.7, any", None, [0.2, 0.7], [0.6, 0.9, 0.25, 0.99], [0, 1, 0]),
        ("different: first candidate shares a class", "different", 0.5, [0.2, 0.1, 0.5, 0.4], [0, 1, 0]),
    ]:
        spec = sig_spec(70, 256, 0.5)
        sample = AudioSample("s.wav", start_time=0, duration=1.0)
        sample.data = Audio(signal(spec), 256)
        sample.labels = pd.Series(labels, index=classes, dtype=np.float16)
        sample.preprocessor = Stand()
        with replayed(d) as r:
            overlay(sample, overlay_df, update_labels=True, overlay_class=cls, overlay_prob=1, max_overlay_num=1,
                    overlay_weight=weight, break_on_key="overlay")
        chosen = [v for n, a, v in r.log if n in ("random.choice", "random.randint")][-1]
        w = [v for n, a, v in r.log if n == "random.uniform"]
        out.append({"name": name, "overlayClass": cls or "any", "weight": weight if not isinstance(weight, list) else weight,
                    "draws": d[: r.i], "signal": spec, "overlaySignals": [specs[f] for f, *_ in rows],
                    "overlayLabels": [l for *_, l in rows], "labels": labels, "chosen": chosen,
                    "appliedWeight": w[0] if w else weight, "output": f32(sample.data.samples),
                    "outputLabels": [float(v) for v in sample.labels.values]})
    return out


def image_noise_cases():
    """tensor_add_noise(std 0.005) on the [0, 1] image, then the rescale to [-1, 1]: the noise level
    in Chorus's units."""
    spec = {"a": 7919, "b": 5, "m": 65521, "height": 128, "width": 128}
    x = torch.from_numpy(image(spec))
    torch.manual_seed(5)
    y = action_functions.tensor_add_noise(x, std=0.005)
    noise = action_functions.scale_tensor(y, 0.5, 0.5) - action_functions.scale_tensor(x, 0.5, 0.5)
    return [{"std01": 0.005, "stdInChorusUnits": 0.01, "realizedStd": float(noise.double().pow(2).mean().sqrt()),
             "pixels": int(noise.numel())}]


def affine_cases():
    """torch_random_affine(translate=(0.3, 0.1), fill=0) on a rescaled image: RandomAffine draws the
    angle (degrees 0), then tx in [-0.3 W, 0.3 W], then ty in [-0.1 H, 0.1 H], rounded."""
    out = []
    # 20 x 20: tx = round(-6 + 12 u), ty = round(-2 + 4 u); u = 0.625 gives ty = 0.5 exactly, which
    # Python's round() takes to 0 (half to even)
    for seed, d in [(81, [0.5, 0.9, 0.1]), (82, [0.3, 0.02, 0.97]), (83, [0.7, 0.5, 0.5]), (84, [0.1, 0.375, 0.625])]:
        spec = {"a": 7919, "b": seed, "m": 65521, "height": 20, "width": 20}
        x = action_functions.scale_tensor(torch.from_numpy(image(spec)), 0.5, 0.5)
        with replayed(d) as r:
            y = action_functions.torch_random_affine(x, degrees=0, translate=(0.3, 0.1), fill=0)
        angle, tx, ty = (float(v[0]) for n, a, v in r.log)
        tx, ty = int(round(tx)), int(round(ty))
        shifted = torch.zeros_like(x)
        H, W = x.shape[-2:]
        for yy in range(H):
            for xx in range(W):
                sy, sx = yy - ty, xx - tx
                if 0 <= sy < H and 0 <= sx < W:
                    shifted[0, yy, xx] = x[0, sy, sx]
        assert torch.equal(shifted, y), f"translation by ({tx}, {ty})"
        out.append({"image": spec, "draws": d, "tx": tx, "ty": ty, "output": f32(y.numpy())})
    return out


# ----------------------------------------------------------------------------------------------
# The whole current pipeline (SpectrogramPreprocessor.forward) with overlays, draw for draw
# ----------------------------------------------------------------------------------------------
def pipeline_cases():
    out = []
    sr, duration = 4000, 0.25
    n = int(sr * duration)
    tmp = Path(tempfile.mkdtemp(prefix="chorus-fixture-"))
    classes = ["A", "B"]
    files = {"sample.wav": sig_spec(91, n, 0.3), "o0.wav": sig_spec(92, n, 0.5), "o1.wav": sig_spec(93, n, 0.004),
             "o2.wav": sig_spec(94, n, 0.2)}
    for f, spec in files.items():
        soundfile.write(tmp / f, signal(spec), sr, subtype="FLOAT")
        assert np.array_equal(Audio.from_file(tmp / f, sample_rate=sr).samples, signal(spec))
    overlay_rows = [("o0.wav", [1, 0]), ("o1.wav", [0, 1]), ("o2.wav", [0, 0])]
    overlay_df = pd.DataFrame(
        [l for _, l in overlay_rows], columns=classes,
        index=pd.MultiIndex.from_tuples([(str(tmp / f), 0.0, duration) for f, _ in overlay_rows], names=["file", "start_time", "end_time"]))
    for name, cls, seed in [("overlay class any", None, 101), ("overlay class different", "different", 102),
                            ("overlay class any, seed 103", None, 103)]:
        pre = SpectrogramPreprocessor(sample_duration=duration, sample_rate=sr, overlay_samples=overlay_df)
        if cls:
            pre.pipeline["overlay"].set(overlay_class=cls)
        labels = [1, 0]
        row = pd.Series(labels, index=classes, name=(str(tmp / "sample.wav"), 0.0, duration))
        d = draws(seed, 80)
        with replayed(d, zero_randn=True) as r:
            s = pre.forward(row, trace=True)
        used = r.i
        before_masks = s.trace["random_wrap"].samples
        after_masks = s.trace["time_mask"].samples
        assert len(np.unique(before_masks)) == n
        # the mask noise is zeros here (np.random.randn replaced by zeros)
        masks, segments = decompose_time_mask(before_masks, after_masks)
        log = [[nm, a, v] for nm, a, v in r.log]
        out.append({"name": name, "overlayClass": cls or "any", "sampleRate": sr, "duration": duration, "classes": classes,
                    "signal": files["sample.wav"], "labels": labels,
                    "overlaySignals": [files[f] for f, _ in overlay_rows], "overlayLabels": [l for _, l in overlay_rows],
                    "draws": d[:used], "log": log, "imageHeight": int(s.data.shape[-2]),
                    "waveformBeforeMasks": f32(before_masks), "masks": masks, "segments": segments, "outputLabels": [float(v) for v in s.labels.values]})
    shutil.rmtree(tmp)
    return out


def main():
    fixture = {
        "reference": f"opensoundscape {opensoundscape.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
                     f"torchvision {torchvision.__version__}",
        "generated_by": "Benchmarks/reference/augmentation_fixtures.py",
        "draw_formulas": "\n".join(__doc__.split("\n\n")[1:3]),
        "masks": mask_cases(),
        "gain": gain_cases(),
        "noise": noise_cases(),
        "wrap": wrap_cases(),
        "timeMasks": time_mask_cases(),
        "overlay": overlay_cases(),
        "imageNoise": image_noise_cases(),
        "affine": affine_cases(),
        "pipeline": pipeline_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixture, separators=(",", ":"))
    OUT.write_text(text + "\n")
    print(f"wrote {OUT} ({len(text) / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
