# PyTorch CUDA beside the package's GPU bench, on the same machine in the same run: the shapes and
# blocks of bench/cases.ts, the style-net training step of bench/training.ts, and the batch /
# layer norm rows and training steps of bench/family.ts and bench/family_training.ts.
#
#   python3 bench/torch_bench.py [--quick] [--out FILE]
#
# Prints one line per row and, with --out, writes the whole record as JSON (the bench's record
# merges it under `torch`). Labels are the bench's own (cases.ts caseLabel / blockLabel), so a
# row of ours and PyTorch's row of the same shape share a key. Times are CUDA-event ms per call:
# `iters` calls back to back, median of 5 rounds, after 5 warm-up calls. Tensors are NCHW (the
# layout PyTorch's kernels are written for); `fwd_channels_last` is the forward on a
# channels_last tensor where the op takes one.
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument('--quick', action='store_true')
parser.add_argument('--out')
parser.add_argument('--train-size', type=int, default=256)
args = parser.parse_args()
dev = 'cuda'
ITERS = 10 if args.quick else 50
ROUNDS = 3 if args.quick else 5
torch.backends.cudnn.benchmark = True
torch.manual_seed(0)


def timeit(fn, iters=ITERS):
    """Median over rounds of CUDA-event ms per call of `iters` calls back to back."""
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    res = []
    for _ in range(ROUNDS):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(iters):
            fn()
        e.record()
        torch.cuda.synchronize()
        res.append(s.elapsed_time(e) / iters)
    return sorted(res)[len(res) // 2]


def emit(section, row):
    print(json.dumps({'section': section, **row}), flush=True)
    record[section].append(row)
    save()


def save():
    # Rewritten after every row: a run cut short keeps what it measured.
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=1)
            f.write('\n')


def guarded(section):
    """Runs a section; an error is recorded and the next section runs."""
    def wrap(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 (one broken section must not cost the others)
            record['errors'].append(f'{section}: {type(e).__name__}: {e}')
            print(f'ERROR {section}: {e}', file=sys.stderr, flush=True)
            save()
        torch.cuda.empty_cache()
    return wrap


def nchw(label_shape, channels_first):
    """The bench's label shape as a PyTorch NCHW shape."""
    if channels_first:
        return tuple(label_shape)
    n, *spatial, c = label_shape
    return (n, c, *spatial)


record = {
    'torch': torch.__version__,
    'cuda': torch.version.cuda,
    'cudnn': torch.backends.cudnn.version(),
    'gpu': torch.cuda.get_device_name(),
    'method': 'CUDA events, ms per call of back-to-back calls, median of rounds; training steps '
              'end each step with loss.item() (as trainOnBatch reads the loss back)',
    'cases': [], 'blocks': [], 'family': [], 'training': [], 'familyTraining': [], 'errors': [],
}
print(json.dumps({k: record[k] for k in ('torch', 'cuda', 'gpu')}), flush=True)

# --- instance / group norm: bench/cases.ts ALL_CASES -------------------------------------------
CASES = [  # (label, shape as labelled, channelsFirst, groups)
    ('8x64x64x32', (8, 64, 64, 32), False, None),
    ('1x256x256x16', (1, 256, 256, 16), False, None),
    ('16x16x16x128', (16, 16, 16, 128), False, None),
    ('2x128x128x64', (2, 128, 128, 64), False, None),
    ('1x32x32x8', (1, 32, 32, 8), False, None),
    ('2x32x64x64 NCHW', (2, 32, 64, 64), True, None),
    ('2x64x64x320', (2, 64, 64, 320), False, None),
    ('4x512x512x32', (4, 512, 512, 32), False, None),
    ('4x32x512x512 NCHW', (4, 32, 512, 512), True, None),
    ('2x64x64x320 g32', (2, 64, 64, 320), False, 32),
    ('8x32x32x64 g8', (8, 32, 32, 64), False, 8),
]
if args.quick:
    CASES = [c for c in CASES if c[0] in ('1x32x32x8', '2x32x64x64 NCHW', '8x32x32x64 g8')]


def norm_fn(groups, eps):
    if groups is None:
        return lambda x, g, b: F.instance_norm(x, weight=g, bias=b, eps=eps)
    return lambda x, g, b: F.group_norm(x, groups, g, b, eps)


@guarded('cases')
def section_cases():
    for label, shape, cf, groups in CASES:
        shp = nchw(shape, cf)
        x = torch.randn(shp, device=dev, requires_grad=True)
        dy = torch.randn(shp, device=dev)
        C = shp[1]
        g = torch.randn(C, device=dev, requires_grad=True)
        b = torch.randn(C, device=dev, requires_grad=True)
        f = norm_fn(groups, 1e-5)
        xd, gd, bd = x.detach(), g.detach(), b.detach()
        xcl = xd.to(memory_format=torch.channels_last)
        emit('cases', {
            'label': label, 'op': 'instance_norm' if groups is None else f'group_norm({groups})',
            'copy': timeit(lambda: xd.neg()),
            'fwd': timeit(lambda: f(xd, gd, bd)),
            'fwd_channels_last': timeit(lambda: f(xcl, gd, bd)),
            'fwdbwd': timeit(lambda: torch.autograd.grad(f(x, g, b), (x, g, b), dy)),
        })
        del x, dy, xcl


# --- blocks: bench/cases.ts BLOCK_CASES (blocks.ts) ---------------------------------------------
def instance_stats(s, eps):
    var, mean = torch.var_mean(s, dim=(2, 3), keepdim=True, correction=0)
    return torch.sqrt(var + eps), mean


BLOCKS = [
    ('IN+ReLU 8x64x64x32', 'inRelu', (8, 32, 64, 64)),
    ('GN+SiLU 2x64x64x320 g32', 'gnSilu', (2, 320, 64, 64)),
    ('AdaIN 8x64x64x32 (style 8x32x32x32)', 'adain', (8, 32, 64, 64)),
    ('conditional IN 8x64x64x32 (4 styles)', 'conditional', (8, 32, 64, 64)),
]
if args.quick:
    BLOCKS = [(l.replace('8x64x64', '2x32x32').replace('2x64x64x320', '1x16x16x320')
               .replace('8x32x32x32', '2x16x16x32'), k,
               (2, 32, 32, 32) if k != 'gnSilu' else (1, 320, 16, 16)) for l, k, _ in BLOCKS]


@guarded('blocks')
def section_blocks():
    for label, kind, shp in BLOCKS:
        N, C = shp[0], shp[1]
        x = torch.randn(shp, device=dev, requires_grad=True)
        dy = torch.randn(shp, device=dev)
        g = torch.randn(C, device=dev, requires_grad=True)
        b = torch.randn(C, device=dev, requires_grad=True)
        if kind == 'inRelu':
            inputs = (x, g, b)
            norm = lambda x, g, b: F.instance_norm(x, weight=g, bias=b, eps=1e-5)
            block = lambda x, g, b: F.relu(norm(x, g, b))
        elif kind == 'gnSilu':
            inputs = (x, g, b)
            norm = lambda x, g, b: F.group_norm(x, 32, g, b, 1e-6)
            block = lambda x, g, b: F.silu(norm(x, g, b))
        elif kind == 'adain':
            style = torch.randn((N, C, shp[2] // 2, shp[3] // 2), device=dev, requires_grad=True)
            inputs = (x, style)
            norm = lambda x, s: F.instance_norm(x, eps=1e-5)

            def block(x, s):
                std, mean = instance_stats(s, 1e-5)
                return F.instance_norm(x, eps=1e-5) * std + mean
        else:  # conditional: per-image rows of [styles, C] tables by a one-hot matmul, as blocks.ts
            styles = 4
            gt = torch.randn((styles, C), device=dev, requires_grad=True)
            bt = torch.randn((styles, C), device=dev, requires_grad=True)
            one_hot = F.one_hot(torch.arange(N, device=dev) % styles, styles).float()
            inputs = (x, gt, bt)
            norm = lambda x, gt, bt: F.instance_norm(x, weight=g.detach(), bias=b.detach(), eps=1e-5)

            def block(x, gt, bt):
                rows = lambda t: (one_hot @ t)[:, :, None, None]
                return F.instance_norm(x, eps=1e-5) * rows(gt) + rows(bt)
        detached = tuple(t.detach() for t in inputs)
        # The plain norm's gradient: with respect to x, and its gamma/beta where they are block inputs.
        norm_wrt = inputs if kind in ('inRelu', 'gnSilu') else (x,)
        emit('blocks', {
            'label': label, 'block': kind,
            'copy': timeit(lambda: detached[0].neg()),
            'normFwd': timeit(lambda: norm(*detached)),
            'blockFwd': timeit(lambda: block(*detached)),
            'normGrad': timeit(lambda: torch.autograd.grad(norm(*inputs), norm_wrt, dy)),
            'blockGrad': timeit(lambda: torch.autograd.grad(block(*inputs), inputs, dy)),
        })


# --- batch / layer norm per call: bench/family.ts FAMILY_CASES ----------------------------------
FAMILY = [  # (label as in family.ts, op, shape as labelled (NHWC for BN), torch shape)
    ('BN 32x56x56x64', 'batchNorm', (32, 64, 56, 56)),
    ('BN 8x28x28x256', 'batchNorm', (8, 256, 28, 28)),
    ('BN 64x7x7x1024', 'batchNorm', (64, 1024, 7, 7)),
    ('LN 4096x768', 'layerNorm', (4096, 768)),
    ('LN 512x1024', 'layerNorm', (512, 1024)),
    ('LN 8x197x384', 'layerNorm', (8, 197, 384)),
]
if args.quick:
    FAMILY = [('BN 4x14x14x64', 'batchNorm', (4, 64, 14, 14)), ('LN 256x384', 'layerNorm', (256, 384))]


@guarded('family')
def section_family():
    for label, op, shp in FAMILY:
        x = torch.randn(shp, device=dev, requires_grad=True)
        dy = torch.randn(shp, device=dev)
        C = shp[1] if op == 'batchNorm' else shp[-1]
        g = torch.randn(C, device=dev, requires_grad=True)
        b = torch.randn(C, device=dev, requires_grad=True)
        if op == 'batchNorm':
            rm, rv = torch.zeros(C, device=dev), torch.ones(C, device=dev)
            # Keras' momentum 0.99 is PyTorch's 0.01; epsilon 1e-3 as Keras.
            f = lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.01, eps=1e-3)
        else:
            f = lambda x, g, b: F.layer_norm(x, (C,), g, b, 1e-3)
        xd, gd, bd = x.detach(), g.detach(), b.detach()
        row = {
            'label': label, 'op': op,
            'copy': timeit(lambda: xd.neg()),
            'fwd': timeit(lambda: f(xd, gd, bd)),
            'fwdbwd': timeit(lambda: torch.autograd.grad(f(x, g, b), (x, g, b), dy)),
        }
        if op == 'batchNorm':
            xcl = xd.to(memory_format=torch.channels_last)
            row['fwd_channels_last'] = timeit(lambda: f(xcl, gd, bd))
        emit('family', row)
        del x, dy


# --- training steps ------------------------------------------------------------------------------
def step_time(model, x, y, steps=20 if not args.quick else 3, channels_last=False):
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def one():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    for _ in range(5):
        one()
    res = []
    for _ in range(ROUNDS):
        torch.cuda.synchronize()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(steps):
            one()
        e.record()
        torch.cuda.synchronize()
        res.append(s.elapsed_time(e) / steps)
    return sorted(res)[len(res) // 2]


def conv(i, o, k, s=1):
    return nn.Conv2d(i, o, k, s, padding=k // 2)


def style_net(norm):
    """bench/training.ts styleNet: 11 norms (InstanceNorm2d affine, epsilon 1e-3) or none."""
    n = (lambda c: nn.InstanceNorm2d(c, affine=True, eps=1e-3)) if norm else (lambda c: nn.Identity())

    class Res(nn.Module):
        def __init__(s):
            super().__init__()
            s.a = nn.Sequential(conv(128, 128, 3), n(128), nn.ReLU(), conv(128, 128, 3), n(128))

        def forward(s, x):
            return x + s.a(x)
    return nn.Sequential(
        conv(3, 32, 9), n(32), nn.ReLU(), conv(32, 64, 3, 2), n(64), nn.ReLU(),
        conv(64, 128, 3, 2), n(128), nn.ReLU(), Res(), Res(), Res(),
        nn.ConvTranspose2d(128, 64, 3, 2, padding=1, output_padding=1), n(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 3, 2, padding=1, output_padding=1), n(32), nn.ReLU(),
        conv(32, 3, 9)).to(dev)


@guarded('training')
def section_training():
    S = 32 if args.quick else args.train_size
    xs, ys = torch.randn(1, 3, S, S, device=dev), torch.randn(1, 3, S, S, device=dev)
    for cl in (False, True):
        a = step_time(style_net(True), xs, ys, channels_last=cl)
        b = step_time(style_net(False), xs, ys, channels_last=cl)
        emit('training', {'net': 'style', 'size': S, 'layout': 'channels_last' if cl else 'nchw',
                          'norms': 11, 'instanceNorm': a, 'none': b, 'normShare': (a - b) / b})


def bn_cnn(norm):
    """bench/family_training.ts bnCnn: a CIFAR-style ResNet, 8 BatchNorm2d (epsilon 1e-3)."""
    n = (lambda c: nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)) if norm else (lambda c: nn.Identity())

    class Res(nn.Module):
        def __init__(s, c):
            super().__init__()
            s.a = nn.Sequential(conv(c, c, 3), n(c), nn.ReLU(), conv(c, c, 3), n(c))

        def forward(s, x):
            return F.relu(x + s.a(x))
    return nn.Sequential(
        conv(3, 32, 3), n(32), nn.ReLU(), Res(32), Res(32),
        conv(32, 64, 3, 2), n(64), nn.ReLU(), Res(64),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)).to(dev)


class Mixer(nn.Module):
    """bench/family_training.ts lnMixer: an MLP-Mixer of two blocks and a final norm (5 LayerNorms)."""

    def __init__(s, T, D, norm):
        super().__init__()
        n = (lambda: nn.LayerNorm(D, eps=1e-3)) if norm else (lambda: nn.Identity())
        s.embed = nn.Linear(D, D)
        s.blocks = nn.ModuleList()
        for _ in range(2):
            s.blocks.append(nn.ModuleList([
                n(), nn.Sequential(nn.Linear(T, 2 * T), nn.ReLU(), nn.Linear(2 * T, T)),
                n(), nn.Sequential(nn.Linear(D, 4 * D), nn.ReLU(), nn.Linear(4 * D, D))]))
        s.final = n()
        s.head = nn.Linear(D, D)

    def forward(s, x):
        x = s.embed(x)
        for n1, tokens, n2, channels in s.blocks:
            x = x + tokens(n1(x).transpose(1, 2)).transpose(1, 2)
            x = x + channels(n2(x))
        return s.head(s.final(x))


@guarded('familyTraining')
def section_familyTraining():
    CB, CS = (4, 16) if args.quick else (32, 32)
    xs, ys = torch.randn(CB, 3, CS, CS, device=dev), torch.randn(CB, 10, device=dev)
    for cl in (False, True):
        a = step_time(bn_cnn(True), xs, ys, channels_last=cl)
        b = step_time(bn_cnn(False), xs, ys, channels_last=cl)
        emit('familyTraining', {'net': 'bnCnn', 'batch': CB, 'size': CS,
                                'layout': 'channels_last' if cl else 'nchw', 'norms': 8,
                                'norm': a, 'none': b, 'normShare': (a - b) / b})
    MB, MT, MD = (2, 16, 64) if args.quick else (16, 64, 256)
    xs, ys = torch.randn(MB, MT, MD, device=dev), torch.randn(MB, MT, MD, device=dev)
    a = step_time(Mixer(MT, MD, True).to(dev), xs, ys)
    b = step_time(Mixer(MT, MD, False).to(dev), xs, ys)
    emit('familyTraining', {'net': 'lnMixer', 'batch': MB, 'tokens': MT, 'dim': MD, 'norms': 5,
                            'norm': a, 'none': b, 'normShare': (a - b) / b})


save()
if args.out:
    print(f'wrote {args.out}', file=sys.stderr)
