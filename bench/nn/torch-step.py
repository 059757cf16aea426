#!/usr/bin/python3
"""bench/nn/torch-step.py: the PyTorch anchor of build/bench/step.

The same work as one resin training step: torchvision resnet34 body +
fastai's head (concat pool, BN1d, dropout 0.25, Linear 1024->512, ReLU, BN1d,
dropout 0.5, Linear 512->C), mean cross-entropy, backward, decoupled weight
decay then Adam (betas (0.9, 0.99)), on random data; frozen = body non-BN
parameters do not train (fastai's freeze). Prints one key=value line.

    /usr/bin/python3 bench/nn/torch-step.py --batch 16 --size 224 \\
        --threads 2 [--frozen] [--steps 3]
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torchvision


class ConcatPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.ap, self.mp = nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1)

    def forward(self, x):
        return torch.cat([self.mp(x), self.ap(x)], 1)


def model(classes):
    body = nn.Sequential(*list(torchvision.models.resnet34(
        weights=None).children())[:-2])
    head = nn.Sequential(ConcatPool(), nn.Flatten(), nn.BatchNorm1d(1024),
                         nn.Dropout(0.25), nn.Linear(1024, 512), nn.ReLU(True),
                         nn.BatchNorm1d(512), nn.Dropout(0.5),
                         nn.Linear(512, classes))
    return nn.Sequential(body, head)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=37)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--frozen", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = model(a.classes)
    m.train()
    bn_types = (nn.BatchNorm1d, nn.BatchNorm2d)
    for mod in m[0].modules():
        if not isinstance(mod, bn_types):
            for p in mod.parameters(recurse=False):
                p.requires_grad_(not a.frozen)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    times = []
    for step in range(a.steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.mul_(1 - 1e-3 * 1e-2)
        opt.step()
        if step:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch batch=%d size=%d threads=%d frozen=%d steps=%d median_s=%.3f "
          "img_s=%.3f peak_rss_mb=%.1f loss=%.4f" % (
              a.batch, a.size, a.threads, int(a.frozen), a.steps, med,
              a.batch / med, rss, loss.item()))


if __name__ == "__main__":
    main()
