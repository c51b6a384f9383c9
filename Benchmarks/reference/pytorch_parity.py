"""Whole-model parity fixtures: what PyTorch computes for Chorus's two networks.

For ResNet18 (torchvision layout, 1-channel conv1, `fc` to K classes) and the small CNN, with
the same weights and the same batch, this records the logits, the loss (BCE-with-logits with
multi-hot targets, and softmax cross-entropy with one class per sample), the gradient of every
parameter, the weights and batch-norm running statistics after 3 SGD steps (momentum 0.9, weight
decay 5e-4) and after 3 AdamW steps (betas 0.9/0.999, eps 1e-8, weight decay 0.01), with one
learning rate per step taken from Chorus's CosineSchedule, and the evaluation-mode logits; and,
in parity-optimizers.json, SGD and AdamW alone on one small parameter with given gradients.
Tests/ModelTests/PyTorchParityTests.swift repeats all of it in Chorus and compares.

Nothing is stored but what the comparison needs: weights and inputs come from a counter-based
formula that the Swift test reimplements (SplitMix64, as `CounterRandom` in Chorus), so the
fixtures hold no weights. Reference tensors are kept whole when small (logits, batch-norm
vectors up to 64 channels) and otherwise summarised: L2 norm, sum, sum of |x|, max |x|, 32
elements at fixed indices, and 16 random +-1 projections (a sketch from which the test estimates
||a - b|| of the whole tensor).

The reference runs in float64, so it is exact to float32 working precision; the script also runs
PyTorch in float32 and prints how far that is from float64, for scale.

Regenerate (needs torch and numpy; CI does not; about 5 minutes on 2 cores):
    python3 -m pip install torch numpy
    python3 Benchmarks/reference/pytorch_parity.py            # writes Tests/ModelTests/Fixtures/parity-*.json
    python3 Benchmarks/reference/pytorch_parity.py --compare DIR
The second form compares the full tensors a test run dumped with PARITY_DUMP=DIR (exact relative
and max elementwise errors rather than the sketch).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures")

# ----------------------------------------------------------------------------------------------
# The shared generator (mirrors CounterRandom in Sources/Tensor/Backend.swift and the test)
# ----------------------------------------------------------------------------------------------
BASE_SEED = 0x00C4_0B05_2024_0601
PROJECTION_SEED = 0x5EED_0F_5EED_0F00
PROJECTIONS = 16
SAMPLES = 32
WHOLE_LIMIT = 64  # tensors up to this many elements are stored whole
U64 = np.uint64


def mix64(z):
    z = np.asarray(z, dtype=U64)
    with np.errstate(over="ignore"):
        z = z + U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return z ^ (z >> U64(31))


def fnv1a(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def uniform(name, n):
    """u in [0, 1) with 24 random bits: value i of stream fnv1a(name) ^ BASE_SEED."""
    seed = U64(fnv1a(name) ^ BASE_SEED)
    return (mix64(seed ^ mix64(np.arange(n, dtype=U64))) >> U64(40)).astype(np.float64) / 16777216.0


def formula(name, n, offset, scale):
    """float32(offset + scale * (2u - 1)), computed in float64 and rounded once."""
    return (offset + scale * (2.0 * uniform(name, n) - 1.0)).astype(np.float32)


def init_spec(name, shape, fc_in):
    """(offset, scale) of each named tensor: conv weights kaiming-uniform (bound sqrt(6/fan_in),
    keeping activations at scale through the net also in evaluation mode), linear layers as
    PyTorch's default (bound 1/sqrt(in)), batch-norm parameters and running statistics spread
    around their usual values so none is trivial."""
    if name.endswith("running_mean"):
        return 0.0, 0.2
    if name.endswith("running_var"):
        return 1.0, 0.5
    if len(shape) == 4:
        return 0.0, math.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
    if name.startswith("fc."):
        return 0.0, 1.0 / math.sqrt(fc_in)
    if name.endswith(".weight"):
        return 1.0, 0.25
    if name.endswith(".bias"):
        return 0.0, 0.2
    raise ValueError(name)


def projection_signs(n):
    """[PROJECTIONS, n] of +-1: bit j of mix64(PROJECTION_SEED ^ mix64(i))."""
    h = mix64(U64(PROJECTION_SEED) ^ mix64(np.arange(n, dtype=U64)))
    bits = (h[None, :] >> np.arange(PROJECTIONS, dtype=U64)[:, None]) & U64(1)
    return 1.0 - 2.0 * bits.astype(np.float64)


def sample_indices(name, n):
    return sorted({int(v) for v in (mix64(U64(fnv1a(name)) ^ np.arange(SAMPLES, dtype=U64)) % U64(n))})


# ----------------------------------------------------------------------------------------------
# The networks, with Chorus's (= torchvision's) parameter names
# ----------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return F.relu(out + idt)


class ResNet18(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (cout, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))


class SmallCNN(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, 2, 2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(16, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        )
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


# ----------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------
CASES = [
    # architecture, classes, batch, height, width, losses. Odd, non-square images, so that padding at
    # every border, floor rounding of strided outputs and any height/width mix-up show.
    ("resnet18", 5, 4, 67, 93, ["bce", "cross_entropy"]),
    ("small", 3, 4, 61, 93, ["bce", "cross_entropy"]),
]
SGD = dict(momentum=0.9, weight_decay=5e-4, base=0.01)
# Multi-step results of a deep net in float32 are chaotic in two ways, in PyTorch as in Chorus:
# AdamW's first steps are close to lr * sign(g), so a gradient element that float32 rounding moves
# across zero moves its weight by 2 lr; and a ReLU input within rounding of zero (about one in a
# million) switches its gradient on or off, which can change the next gradient by 1%. Both errors
# scale with the learning rate, so the rates are moderate: Chorus's default SGD rate, and a
# fine-tuning AdamW rate (at 2e-3, PyTorch's own float32 ResNet18 is 2e-3 from its float64 after
# 3 steps). The optimizers' arithmetic is checked tightly and separately (parity-optimizers.json).
ADAMW = dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, base=0.0001)
# Chorus's CosineSchedule(baseLearningRate:, totalSteps: 6, warmupSteps: 2) at these steps: one
# warm-up rate, the start of the cosine and one decayed rate.
SCHEDULE_TOTAL, SCHEDULE_WARMUP, SCHEDULE_STEPS = 6, 2, [0, 2, 3]


def cosine_rate(base, step, total=SCHEDULE_TOTAL, warmup=SCHEDULE_WARMUP):
    """Chorus's CosineSchedule.learningRate(step:) (minimum 0), rounded to float32 as Chorus does."""
    if step < warmup:
        r = np.float32(base) * np.float32(step + 1) / np.float32(warmup)
    else:
        t = min(1.0, (step - warmup) / max(1, total - warmup))
        r = np.float32(base) * np.float32(0.5 * (1 + math.cos(math.pi * t)))
    return float(np.float32(r))


def build(arch, classes, dtype):
    net = ResNet18(classes) if arch == "resnet18" else SmallCNN(classes)
    state = {}
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = t
            continue
        off, scale = init_spec(name, tuple(t.shape), net.fc.in_features)
        state[name] = torch.from_numpy(formula(name, t.numel(), off, scale).reshape(tuple(t.shape)))
    net.load_state_dict(state)
    return net.to(dtype)


def inputs(batch, h, w, classes):
    x = formula("input", batch * h * w, 0.0, 1.0).reshape(batch, 1, h, w)
    multi = (uniform("labels.multi", batch * classes) < 0.4).astype(np.float32).reshape(batch, classes)
    single = np.minimum((uniform("labels.single", batch) * classes).astype(np.int64), classes - 1)
    return x, multi, single


def named_tensors(net):
    """Parameters then buffers, in Chorus's order (which is PyTorch's registration order)."""
    out = [(n, p) for n, p in net.named_parameters()]
    out += [(n, b) for n, b in net.named_buffers() if not n.endswith("num_batches_tracked")]
    return out


def loss_fn(kind, logits, multi, single):
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, multi)
    return F.cross_entropy(logits, single)


def run_case(arch, classes, batch, h, w, loss, dtype):
    """Everything one case records, as float64 numpy arrays keyed by name."""
    torch.manual_seed(0)
    x, multi, single = inputs(batch, h, w, classes)
    X = torch.from_numpy(x).to(dtype)
    Y = torch.from_numpy(multi).to(dtype)
    S = torch.from_numpy(single)
    out = {}
    for opt_name, cfg in (("sgd", SGD), ("adamw", ADAMW)):
        net = build(arch, classes, dtype)
        net.train()
        params = [p for _, p in net.named_parameters()]
        if opt_name == "sgd":
            opt = torch.optim.SGD(params, lr=cfg["base"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
        else:
            opt = torch.optim.AdamW(params, lr=cfg["base"], betas=cfg["betas"], eps=cfg["eps"], weight_decay=cfg["weight_decay"])
        losses = []
        for k, step in enumerate(SCHEDULE_STEPS):
            for g in opt.param_groups:
                g["lr"] = cosine_rate(cfg["base"], step)
            opt.zero_grad()
            logits = net(X)
            L = loss_fn(loss, logits, Y, S)
            L.backward()
            losses.append(L.item())
            if k == 0 and opt_name == "sgd":
                out["logits"] = logits.detach().double().numpy()
                out["loss"] = np.array([L.item()])
                for n, p in net.named_parameters():
                    out["grad." + n] = p.grad.detach().double().numpy()
            opt.step()
        out[opt_name + ".losses"] = np.array(losses)
        for n, t in named_tensors(net):
            out[opt_name + "." + n] = t.detach().double().numpy()
    net = build(arch, classes, dtype)
    net.eval()
    with torch.no_grad():
        out["eval.logits"] = net(X).double().numpy()
    return out, x, multi, single


def summarize(name, a):
    flat = a.reshape(-1).astype(np.float64)
    n = flat.size
    entry = {"shape": list(a.shape)}
    if n <= WHOLE_LIMIT:
        entry["values"] = [float(v) for v in flat]
        return entry
    idx = sample_indices(name, n)
    entry.update({
        "norm": float(np.linalg.norm(flat)), "sum": float(flat.sum()), "abs_sum": float(np.abs(flat).sum()),
        "max_abs": float(np.abs(flat).max()),
        "projections": [float(v) for v in projection_signs(n) @ flat],
        "indices": idx, "samples": [float(flat[i]) for i in idx],
    })
    return entry


def rel(a, b):
    a, b = a.reshape(-1), b.reshape(-1)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)), float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def group(key):
    if key in ("logits", "eval.logits"):
        return key
    if key == "loss" or key.endswith(".losses"):
        return "loss"
    if key.startswith("grad."):
        return "grads"
    opt, rest = key.split(".", 1)
    return "bn running stats" if "running_" in rest else opt


def worst_by_group(ours, ref):
    worst = {}
    for k in ref:
        r, m = rel(ours[k], ref[k])
        g = group(k)
        if g not in worst or r > worst[g][0]:
            worst[g] = (r, m, k)
    return worst


def generate():
    os.makedirs(FIXTURES, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    optimizer_fixture()
    for arch, classes, batch, h, w, losses in CASES:
        doc = {
            "generator": "Benchmarks/reference/pytorch_parity.py", "torch": torch.__version__,
            "architecture": arch, "classes": classes, "input_shape": [batch, 1, h, w],
            "base_seed": f"{BASE_SEED:016x}", "projection_seed": f"{PROJECTION_SEED:016x}",
            "schedule": {"total_steps": SCHEDULE_TOTAL, "warmup_steps": SCHEDULE_WARMUP, "steps": SCHEDULE_STEPS},
            "sgd": {"momentum": SGD["momentum"], "weight_decay": SGD["weight_decay"], "base_lr": SGD["base"],
                    "rates": [cosine_rate(SGD["base"], s) for s in SCHEDULE_STEPS]},
            "adamw": {"beta1": ADAMW["betas"][0], "beta2": ADAMW["betas"][1], "eps": ADAMW["eps"],
                      "weight_decay": ADAMW["weight_decay"], "base_lr": ADAMW["base"],
                      "rates": [cosine_rate(ADAMW["base"], s) for s in SCHEDULE_STEPS]},
            "cases": {},
        }
        for loss in losses:
            ref, x, multi, single = run_case(arch, classes, batch, h, w, loss, torch.float64)
            f32, *_ = run_case(arch, classes, batch, h, w, loss, torch.float32)
            net = build(arch, classes, torch.float64)
            doc["tensors"] = [{"name": n, "shape": list(t.shape)} for n, t in named_tensors(net)]
            doc["generator_check"] = {
                "input_sum": float(x.astype(np.float64).sum()), "multi_positives": int(multi.sum()),
                "single": [int(v) for v in single],
                "weights_sum": float(sum(t.detach().double().sum().item() for _, t in named_tensors(net))),
            }
            doc["cases"][loss] = {k: summarize(f"{arch}.{loss}.{k}", v) for k, v in ref.items()}
            print(f"{arch} {loss}: loss {ref['loss'][0]:.6f}, logits {np.round(ref['logits'][0], 4)}, eval {np.round(ref['eval.logits'][0], 4)}")
            for g, (r, m, k) in sorted(worst_by_group(f32, ref).items()):
                print(f"  torch float32 vs float64  {g:17s} rel {r:.2e}  max {m:.2e}  ({k})")
        path = os.path.join(FIXTURES, f"parity-{arch}.json")
        with open(path, "w") as fh:
            json.dump(doc, fh, separators=(",", ":"))
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def optimizer_fixture():
    """SGD and AdamW alone on one [4, 16] parameter with given gradients: the updates must match
    to float32 rounding. Gradients span 1e-8..1 in magnitude (AdamW's eps matters at the low end)
    and include zeros; the rates are larger than the networks' so that the updates stand well
    above the rounding of the weights."""
    n = 64
    w0 = formula("optim.weight", n, 0.0, 0.5)
    grads = []
    for k in range(len(SCHEDULE_STEPS)):
        magnitude = 10.0 ** (-8.0 + 8.0 * uniform(f"optim.grad{k}.magnitude", n))
        sign = np.where(uniform(f"optim.grad{k}.sign", n) < 0.5, -1.0, 1.0)
        g = (sign * magnitude).astype(np.float32)
        g[uniform(f"optim.grad{k}.zero", n) < 0.1] = 0
        grads.append(g)
    doc = {"generator": "Benchmarks/reference/pytorch_parity.py", "torch": torch.__version__,
           "shape": [4, 16], "weight": [float(v) for v in w0], "gradients": [[float(v) for v in g] for g in grads],
           "schedule": {"total_steps": SCHEDULE_TOTAL, "warmup_steps": SCHEDULE_WARMUP, "steps": SCHEDULE_STEPS}}
    for name, base in (("sgd", 0.1), ("adamw", 0.01)):
        p = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
        if name == "sgd":
            opt = torch.optim.SGD([p], lr=base, momentum=SGD["momentum"], weight_decay=SGD["weight_decay"])
            settings = {"momentum": SGD["momentum"], "weight_decay": SGD["weight_decay"]}
        else:
            opt = torch.optim.AdamW([p], lr=base, betas=ADAMW["betas"], eps=ADAMW["eps"], weight_decay=ADAMW["weight_decay"])
            settings = {"beta1": ADAMW["betas"][0], "beta2": ADAMW["betas"][1], "eps": ADAMW["eps"], "weight_decay": ADAMW["weight_decay"]}
        after = []
        for g, step in zip(grads, SCHEDULE_STEPS):
            for group in opt.param_groups:
                group["lr"] = cosine_rate(base, step)
            p.grad = torch.from_numpy(g.astype(np.float64))
            opt.step()
            after.append([float(v) for v in p.detach().numpy()])
        doc[name] = dict(settings, base_lr=base, rates=[cosine_rate(base, s) for s in SCHEDULE_STEPS], after=after)
    path = os.path.join(FIXTURES, "parity-optimizers.json")
    with open(path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def read_safetensors(path):
    with open(path, "rb") as fh:
        data = fh.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        s, t = e["data_offsets"]
        out[name] = np.frombuffer(body[s:t], dtype="<f4").astype(np.float64).reshape(e["shape"])
    return out


def compare(directory):
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for arch, classes, batch, h, w, losses in CASES:
        for loss in losses:
            ref, *_ = run_case(arch, classes, batch, h, w, loss, torch.float64)
            for fn in sorted(os.listdir(directory)):
                prefix = f"{arch}-{loss}-"
                if not (fn.startswith(prefix) and fn.endswith(".safetensors")):
                    continue
                ours = read_safetensors(os.path.join(directory, fn))
                print(f"{arch} {loss} on {fn[len(prefix):-len('.safetensors')]}:")
                for g, (r, m, k) in sorted(worst_by_group(ours, {k: v for k, v in ref.items() if k in ours}).items()):
                    print(f"  {g:17s} worst rel {r:.2e}  max elementwise/max|ref| {m:.2e}  ({k})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", metavar="DIR", help="compare full tensors dumped by the Swift test (PARITY_DUMP=DIR)")
    args = ap.parse_args()
    if args.compare:
        compare(args.compare)
    else:
        generate()
