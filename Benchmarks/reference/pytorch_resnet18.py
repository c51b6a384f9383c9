"""Reference figures: PyTorch's CPU training and inference throughput for Chorus's ResNet18 and
small CNN (1-channel 224x224 input, 5 classes, BCE-with-logits, SGD momentum 0.9, weight decay 5e-4).

Not a Chorus dependency. `train-gpu bench` runs it in the same run as its own figures when
Benchmarks/reference/.venv (Benchmarks/reference/make-venv) has torch; by hand:
    python3 Benchmarks/reference/pytorch_resnet18.py BATCH [resnet18|small] [THREADS]
The last line printed is JSON: {"architecture", "batch", "threads", "training", "inference"} (samples/s).

With `layers` instead of an architecture, and a fourth argument listing convolution shapes as JSON
([{"name", "c", "h", "o", "k", "s", "p"}], C input channels of H x H, O outputs, K x K windows,
stride S, padding P), it times each layer alone as `chorus-bench conv` times Chorus's: the forward,
then the backward (data and weight gradients), each the fastest of three after two untimed runs.
The last line is JSON: {"layers": {name: GFLOP/s of forward + backward}, "threads", "version"}.
The networks are written out (torchvision's ResNet18 layer structure) so torchvision is not needed.
"""
import json
import sys
import time

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


def resnet18(classes=5, channels=1):
    layers = [nn.Conv2d(channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def small(classes=5, channels=1):
    """Chorus's `small` architecture (Network.smallCNN)."""
    def stage(cin, cout, k, s, p, pool):
        layers = [nn.Conv2d(cin, cout, k, s, p), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        return layers + ([nn.MaxPool2d(2, 2)] if pool else [])
    layers = stage(channels, 16, 5, 2, 2, True) + stage(16, 32, 3, 1, 1, True) + stage(32, 64, 3, 1, 1, True) + stage(64, 64, 3, 1, 1, False)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def layers(batch, shapes):
    """GFLOP/s of each convolution layer alone, forward and backward (3 x the forward's operations)."""
    torch.manual_seed(0)
    out = {}

    def fastest(body):
        times = []
        for _ in range(5):
            t = time.perf_counter(); body(); times.append(time.perf_counter() - t)
        return min(times[2:])

    for s in shapes:
        x = torch.rand(batch, s["c"], s["h"], s["h"], requires_grad=True)
        conv = nn.Conv2d(s["c"], s["o"], s["k"], s["s"], s["p"], bias=False)
        with torch.no_grad():
            conv.weight.uniform_(-0.1, 0.1)
        forward = fastest(lambda: conv(x))
        y = conv(x)
        dy = torch.rand_like(y)
        backward = fastest(lambda: torch.autograd.grad(y, [x, conv.weight], dy, retain_graph=True))
        oh = (s["h"] + 2 * s["p"] - s["k"]) // s["s"] + 1
        flops = 2.0 * batch * s["o"] * oh * oh * s["c"] * s["k"] * s["k"]
        out[s["name"]] = 3 * flops / (forward + backward) / 1e9
        print(f"pytorch {s['name']} b{batch}: forward {forward * 1e3:.2f} ms, backward {backward * 1e3:.2f} ms, {out[s['name']]:.1f} GFLOP/s")
    print(json.dumps({"layers": out, "batch": batch, "threads": torch.get_num_threads(), "version": torch.__version__}))


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    architecture = sys.argv[2] if len(sys.argv) > 2 else "resnet18"
    if len(sys.argv) > 3:
        torch.set_num_threads(int(sys.argv[3]))
    if architecture == "layers":
        return layers(batch, json.loads(sys.argv[4]))
    torch.manual_seed(0)
    net = {"resnet18": resnet18, "small": small}[architecture]()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.rand(batch, 1, 224, 224) * 2 - 1
    y = (torch.rand(batch, 5) > 0.5).float()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    step()
    times = []
    for _ in range(3):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    train = batch / sorted(times)[1]
    net.eval()
    with torch.no_grad():
        net(x)
        times = []
        for _ in range(3):
            t = time.perf_counter(); net(x); times.append(time.perf_counter() - t)
    infer = batch / sorted(times)[1]
    print(f"pytorch {torch.__version__} threads {torch.get_num_threads()} {architecture} batch {batch}: "
          f"training {train:.2f} samples/s, inference {infer:.2f} samples/s")
    print(json.dumps({"architecture": architecture, "batch": batch, "threads": torch.get_num_threads(),
                      "version": torch.__version__, "training": train, "inference": infer}))


if __name__ == "__main__":
    main()
