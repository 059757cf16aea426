#!/usr/bin/python3
"""Generates tests/data/augment-fixture.h: fastai v1's augmentation math done
by PyTorch (float32, torch.nn.functional.grid_sample with align_corners=True
and padding_mode='reflection', area interpolation for the anti-alias rule),
for tests/data/test-augment.c. Run: /usr/bin/python3 tests/data/gen-augment-fixture.py

The formulas follow fastai 1.0.42 (reference section 2): _get_resize_target,
_symmetric_warp/_find_coeffs/_apply_perspective, flip/rotate/zoom affine with
the aspect fix of _affine_mult, _grid_sample's anti-alias rule, logit-space
lighting, crop_pad, imagenet normalisation."""
import math
import os
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
SIZE = 16
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def find_coeffs(orig, targ):
    rows = []
    for p1, p2 in zip(orig, targ):
        rows.append([p1[0], p1[1], 1, 0, 0, 0, -p2[0] * p1[0], -p2[0] * p1[1]])
        rows.append([0, 0, 0, p1[0], p1[1], 1, -p2[1] * p1[0], -p2[1] * p1[1]])
    a = torch.tensor(rows, dtype=torch.float32)
    b = torch.tensor(targ, dtype=torch.float32).view(8)
    return torch.linalg.solve(a, b)


def apply_perspective(flow, coeffs):
    size = flow.size()
    f = flow.view(-1, 2)
    c = torch.cat([coeffs, torch.ones(1)]).view(3, 3)
    f = torch.addmm(c[:, 2], f, c[:, :2].t())
    f = f[:, :2] / f[:, 2:]
    return f.view(size)


def pipeline(img, p):
    """img: (H, W, 3) uint8 numpy. p: dict of parameters. Returns (3,S,S)."""
    h, w, _ = img.shape
    x = torch.tensor(img, dtype=torch.float32).permute(2, 0, 1) / 255
    ratio = min(h / SIZE, w / SIZE)
    ht, wt = round(h / ratio), round(w / ratio)
    ys = torch.linspace(-1, 1, ht)
    xs = torch.linspace(-1, 1, wt)
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    flow = torch.stack([gx, gy], -1)[None]  # (1, ht, wt, 2), (x, y)
    if p.get('warp'):
        m = p['warp']
        targ = [[-1 - m[3], -1 - m[1]], [-1 - m[2], 1 + m[1]],
                [1 + m[3], -1 - m[0]], [1 + m[2], 1 + m[0]]]
        orig = [[-1, -1], [-1, 1], [1, -1], [1, 1]]
        flow = apply_perspective(flow, find_coeffs(targ, orig))
    mat = torch.eye(3)
    if p.get('flip'):
        mat = mat @ torch.tensor([[-1., 0, 0], [0, 1, 0], [0, 0, 1]])
    if 'rotate' in p:
        t = p['rotate'] * math.pi / 180
        mat = mat @ torch.tensor([[math.cos(t), -math.sin(t), 0.],
                                  [math.sin(t), math.cos(t), 0.], [0, 0, 1.]])
    if 'zoom' in p:
        s, row, col = p['zoom']
        sh = 1 - 1 / s
        mat = mat @ torch.tensor([[1 / s, 0, sh * (2 * col - 1)],
                                  [0, 1 / s, sh * (2 * row - 1)], [0, 0, 1.]])
    if p.get('flip') or 'rotate' in p or 'zoom' in p:
        m = mat.clone()
        m[0, 1] *= ht / wt
        m[1, 0] *= wt / ht
        size = flow.size()
        flow = torch.addmm(m[:2, 2], flow.reshape(-1, 2), m[:2, :2].t())
        flow = flow.view(size)
    mn, mx = flow.min(), flow.max()
    z = 1 / (mx - mn).item() * 2
    d = min(h / ht, w / wt) / 2
    if d > 1 and d > z:
        x = F.adaptive_avg_pool2d(x[None], (math.floor(h * (1 / d)),
                                            math.floor(w * (1 / d))))[0]
    x = F.grid_sample(x[None], flow, mode='bilinear', padding_mode='reflection',
                      align_corners=True)[0]
    if 'brightness' in p or 'contrast' in p:
        x = x.clamp(1e-7, 1 - 1e-7)
        x = (x / (1 - x)).log()
        if 'brightness' in p:
            b = p['brightness']
            x = x + math.log(b / (1 - b))
        if 'contrast' in p:
            x = x * p['contrast']
        x = x.sigmoid()
    # crop_pad: a pct of exactly 1 becomes 1 - 1e-7
    row_pct, col_pct = [min(v, 1 - 1e-7) for v in p.get('crop', (0.5, 0.5))]
    r0 = math.floor((ht - SIZE + 1) * row_pct)
    c0 = math.floor((wt - SIZE + 1) * col_pct)
    x = x[:, r0:r0 + SIZE, c0:c0 + SIZE]
    assert x.shape == (3, SIZE, SIZE)
    return (x - MEAN) / STD


CASES = [
    ('valid', 0, {}),
    ('all_fired', 0, dict(flip=True, warp=(0.1, -0.15, 0.05, 0.2), rotate=7.0,
                          zoom=(1.07, 0.3, 0.8), brightness=0.45,
                          contrast=1.2, crop=(0.25, 0.9))),
    ('warp_only', 0, dict(warp=(-0.2, 0.2, 0.18, -0.12), crop=(0.9, 0.1))),
    ('box_valid', 1, {}),
    ('box_rotate_zoom', 1, dict(rotate=-9.5, zoom=(1.02, 0.6, 0.1),
                                contrast=0.85, crop=(0.0, 1.0))),
    ('flip_bright', 0, dict(flip=True, brightness=0.58, crop=(0.5, 0.2))),
]


def c_array(name, ctype, values, per_line=12, fmt='{}'):
    out = ['static const %s %s[%d] = {' % (ctype, name, len(values))]
    for i in range(0, len(values), per_line):
        out.append('    ' + ', '.join(fmt.format(v) for v in
                                      values[i:i + per_line]) + ',')
    out.append('};')
    return '\n'.join(out)


def main():
    rng = np.random.RandomState(1234)
    images = [rng.randint(0, 256, size=(30, 40, 3)).astype(np.uint8),
              rng.randint(0, 256, size=(60, 44, 3)).astype(np.uint8)]
    lines = ['/* generated by tests/data/gen-augment-fixture.py (PyTorch %s);'
             % torch.__version__, ' * do not edit. */',
             '#define FX_SIZE %d' % SIZE]
    for k, im in enumerate(images):
        lines.append('#define FX_IMG%d_H %d' % (k, im.shape[0]))
        lines.append('#define FX_IMG%d_W %d' % (k, im.shape[1]))
        lines.append(c_array('fx_img%d' % k, 'unsigned char',
                             im.reshape(-1).tolist(), 24))
    # grid_sample alone: points inside and far outside [-1, 1]
    src = torch.tensor(images[0][:5, :7], dtype=torch.float32) / 255
    pts = torch.tensor(rng.uniform(-3.2, 3.2, size=(64, 2)), dtype=torch.float32)
    pts[:4] = torch.tensor([[-1., -1.], [1., 1.], [1., -1.], [0.3, 1.]])
    got = F.grid_sample(src.permute(2, 0, 1)[None], pts.view(1, 1, 64, 2),
                        mode='bilinear', padding_mode='reflection',
                        align_corners=True)[0, :, 0, :].t()
    lines.append(c_array('fx_gs_pts', 'float', pts.view(-1).tolist(), 6,
                         '{:.9e}f'))
    lines.append(c_array('fx_gs_out', 'float', got.reshape(-1).tolist(), 6,
                         '{:.9e}f'))
    lines.append('struct fx_case { const char *name; int img; int flip;')
    lines.append('    int warp; double warp_m[4]; int rotate; double deg;')
    lines.append('    int zoom; double zs, zr, zc; int bright; double b;')
    lines.append('    int contrast; double c; double crop_row, crop_col;')
    lines.append('    float out[3 * FX_SIZE * FX_SIZE]; };')
    lines.append('static const struct fx_case fx_cases[] = {')
    for name, k, p in CASES:
        out = pipeline(images[k], p).reshape(-1).tolist()
        w = p.get('warp', (0, 0, 0, 0))
        z = p.get('zoom', (1, 0, 0))
        cr = p.get('crop', (0.5, 0.5))
        lines.append('  {"%s", %d, %d, %d, {%r, %r, %r, %r}, %d, %r, %d, %r, %r, %r,'
                     % (name, k, int(p.get('flip', False)), int('warp' in p),
                        *w, int('rotate' in p), p.get('rotate', 0.0),
                        int('zoom' in p), *z))
        lines.append('   %d, %r, %d, %r, %r, %r, {' % (
            int('brightness' in p), p.get('brightness', 0.5),
            int('contrast' in p), p.get('contrast', 1.0), *cr))
        for i in range(0, len(out), 8):
            lines.append('    ' + ', '.join('{:.9e}f'.format(v)
                                            for v in out[i:i + 8]) + ',')
        lines.append('  }},')
    lines.append('};')
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'augment-fixture.h')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
