#!/usr/bin/python3
"""scripts/demo-torch.py: the `make demo` recipe in PyTorch, for comparison.

Same files (data/fashion/images, written by scripts/demo), same listing
(sorted by name), same split (np.random.seed(2) permutation, 20 % valid),
same classes (sorted training labels), same model (torchvision ResNet-34
body without ImageNet weights + the fastai head), same schedule (fastai
1.0.42 fit_one_cycle: cosine in both phases, div 25, moms 0.95/0.85,
pct_start 0.3; Adam betas (mom, 0.99), decoupled weight decay 1e-2),
stage 2 with a fresh optimizer and lrs slice(1e-6, 1e-4) over the three
layer groups. Augmentation is torchvision's nearest equivalent of fastai's
get_transforms() (flip, rotate 10, zoom 1.1, lighting 0.2, random crop),
not bit-identical. lr_find is left out: it does not change the model.

usage: /usr/bin/python3 scripts/demo-torch.py [--size 32] [--epochs 4,2]
"""
import argparse, glob, math, os, re, time
import numpy as np
import torch, torch.nn as nn
import torchvision
import torchvision.transforms as T
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument('--images', default='data/fashion/images')
p.add_argument('--size', type=int, default=32)
p.add_argument('--bs', type=int, default=64)
p.add_argument('--epochs', default='4,2')
p.add_argument('--threads', type=int, default=2)
p.add_argument('--steps', type=int, default=0, help='stop each fit after N')
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

paths = sorted(glob.glob(os.path.join(a.images, '*.jpg')))
pat = re.compile(r'/([^/]+)_\d+.jpg$')
labels = [pat.search(os.path.abspath(x)).group(1) for x in paths]
np.random.seed(2)
perm = np.random.permutation(len(paths))
cut = int(0.2 * len(paths))
valid_idx, train_idx = list(perm[:cut]), sorted(perm[cut:])
classes = sorted(set(labels[i] for i in train_idx))
cidx = {c: i for i, c in enumerate(classes)}
print(f'{len(paths)} images, {len(classes)} classes, '
      f'{len(train_idx)} train / {len(valid_idx)} valid')

norm = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
train_tf = T.Compose([
    T.Resize(a.size), T.RandomHorizontalFlip(),
    T.RandomApply([T.RandomAffine(10, scale=(1.0, 1.1))], p=0.75),
    T.RandomApply([T.ColorJitter(brightness=0.2, contrast=0.2)], p=0.75),
    T.RandomCrop(a.size), T.ToTensor(), norm])
valid_tf = T.Compose([T.Resize(a.size), T.CenterCrop(a.size), T.ToTensor(),
                      norm])


class DS(torch.utils.data.Dataset):
    def __init__(self, idx, tf):
        self.idx, self.tf = idx, tf
    def __len__(self):
        return len(self.idx)
    def __getitem__(self, i):
        j = self.idx[i]
        return (self.tf(Image.open(paths[j]).convert('RGB')),
                cidx[labels[j]])


train_dl = torch.utils.data.DataLoader(DS(train_idx, train_tf), a.bs,
                                       shuffle=True, drop_last=True)
valid_dl = torch.utils.data.DataLoader(DS(valid_idx, valid_tf), a.bs)


class ConcatPool(nn.Module):
    def forward(self, x):  # max first, then avg (fastai AdaptiveConcatPool2d)
        return torch.cat([torch.amax(x, (2, 3)), torch.mean(x, (2, 3))], 1)


body = nn.Sequential(*list(torchvision.models.resnet34().children())[:-2])
head = nn.Sequential(ConcatPool(), nn.BatchNorm1d(1024), nn.Dropout(0.25),
                     nn.Linear(1024, 512), nn.ReLU(inplace=True),
                     nn.BatchNorm1d(512), nn.Dropout(0.5),
                     nn.Linear(512, len(classes)))
for m in head:
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight)
        nn.init.zeros_(m.bias)
model = nn.Sequential(body, head)
groups = [list(body[:6].parameters()), list(body[6:].parameters()),
          list(head.parameters())]


def cos_anneal(start, end, pct):
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)


def fit_one_cycle(epochs, lr_max):
    n = len(train_dl) * epochs
    a1 = int(n * 0.3)
    a2 = n - a1
    opt = torch.optim.Adam([{'params': g, 'lr': 0} for g in groups],
                           betas=(0.95, 0.99), eps=1e-8)
    avg, k = 0.0, 0
    print('epoch  train_loss  valid_loss  error_rate  time')
    for e in range(epochs):
        t0 = time.time()
        model.train()
        for x, y in train_dl:
            if k == 0:
                lrs, mom = [l / 25 for l in lr_max], 0.95
            elif k <= a1:
                lrs = [cos_anneal(l / 25, l, k / a1) for l in lr_max]
                mom = cos_anneal(0.95, 0.85, k / a1)
            else:
                lrs = [cos_anneal(l, l / 25e4, (k - a1) / a2) for l in lr_max]
                mom = cos_anneal(0.85, 0.95, (k - a1) / a2)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            for g, lr in zip(opt.param_groups, lrs):
                g['lr'], g['betas'] = lr, (mom, 0.99)
                for q in g['params']:  # fastai true_wd, bn_wd=True
                    q.data.mul_(1 - lr * 1e-2)
            opt.step()
            k += 1
            avg = 0.98 * avg + 0.02 * loss.item()
            if a.steps and k >= a.steps:
                break
        model.eval()
        tot = wrong = 0
        vloss = 0.0
        with torch.no_grad():
            for x, y in valid_dl:
                z = model(x)
                vloss += nn.functional.cross_entropy(z, y, reduction='sum')
                wrong += (z.argmax(1) != y).sum().item()
                tot += len(y)
        dt = time.time() - t0
        print(f'{e + 1:<7d}{avg / (1 - 0.98 ** k):<12.6f}{vloss / tot:<12.6f}'
              f'{wrong / tot:<12.6f}{int(dt) // 60:02d}:{int(dt) % 60:02d}',
              flush=True)
        if a.steps and k >= a.steps:
            break
    return wrong / tot


e1, e2 = (int(x) for x in a.epochs.split(','))
t0 = time.time()
err = fit_one_cycle(e1, [3e-3] * 3) if e1 else float('nan')
if e2:
    err = fit_one_cycle(e2, [1e-6, 1e-5, 1e-4])
print(f'pytorch: final error rate {err:.6f}, wall time '
      f'{int(time.time() - t0) // 60}m{int(time.time() - t0) % 60}s')
