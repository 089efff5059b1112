#!/usr/bin/env python3
"""PyTorch peer benchmark for dark-knowledge (issue 7).

Does, in idiomatic PyTorch, the same work as our ONNX Runtime bench:

  student-kd-step    KD training step of a 784-800-800-10 ReLU MLP from cached teacher
                     logits (T=20, alpha=0.9), SGD momentum 0.9, lr 0.05; batch 128 and 256
  online-kd-step     the same KD step with the teacher online: a 784-1200-1200-10 teacher (eval,
                     torch.no_grad()) gives the logits of the batch, jittered by up to 2 px as
                     the student sees it; batch 128
  teacher-step       784-1200-1200-10 ReLU MLP training step, dropout 0.2 on the input and
                     0.5 on each hidden layer, input jitter (random shift of up to 2 px of
                     the 28x28 image, done in torch on the batch), hard-label CE,
                     SGD momentum 0.9, lr 0.05; batch 128
  teacher-inference  the teacher in eval mode under torch.no_grad(); batch 1024
  student-forward    the student in eval mode under torch.no_grad(); batch 128

KD loss (Hinton, Vinyals & Dean 2015, arXiv 1503.02531, section 2):
  L = alpha * T^2 * CE(softmax(t/T), softmax(s/T)) + (1 - alpha) * CE(onehot(y), softmax(s))
each CE averaged over the batch. The T^2 keeps the soft term's gradient magnitude
independent of T (the soft gradient scales as 1/T^2).

Run it with the system interpreter and the tuning variables unset in that command only:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/peers/torch_bench.py
See bench/peers/README.md for the flags, the output and the --check file format.
"""

import argparse
import json
import math
import os
import platform
import re
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def _vm_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


RSS_AFTER_IMPORT_MB = _vm_rss_mb()

STUDENT_DIMS = (784, 800, 800, 10)
TEACHER_DIMS = (784, 1200, 1200, 10)
IMAGE_SIDE = 28
JITTER_PX = 2
LR = 0.05
MOMENTUM = 0.9
DATA_SEED = 1234
ROW_NAMES = ("student-kd-step", "online-kd-step", "teacher-step", "teacher-inference", "student-forward",
             "cnn-kd-step", "resnet-kd-step", "mobilenet-kd-step", "cnn-teacher-inference")


# --------------------------------------------------------------------------------------
# FLOP convention (same as our bench): a dense layer's forward costs 2*B*in*out FLOPs
# (one multiply and one add per weight per sample); biases, activations, the loss and the
# optimiser update are not counted. A training step counts 3x the forward matmul FLOPs
# (forward, input gradient, weight gradient); inference and forward-only count 1x.
# --------------------------------------------------------------------------------------
def forward_flops_per_sample(dims):
    return sum(2 * a * b for a, b in zip(dims[:-1], dims[1:]))


def mlp(dims, input_dropout=0.0, hidden_dropout=0.0):
    """Linear/ReLU stack; dropout (if any) before the first layer and after each hidden ReLU."""
    layers = []
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout))
    n = len(dims) - 1
    for i in range(n):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < n - 1:
            layers.append(nn.ReLU())
            if hidden_dropout > 0:
                layers.append(nn.Dropout(hidden_dropout))
    return nn.Sequential(*layers)


def kd_loss(s, t, y, T, alpha):
    """alpha*T^2*CE(softmax(t/T), softmax(s/T)) + (1-alpha)*CE(onehot(y), softmax(s)).

    s: student logits [B,C]; t: teacher logits [B,C]; y: int64 labels [B].
    Returns (loss, soft_ce, hard_ce), each a 0-d tensor (CEs are batch means).
    """
    q = F.softmax(t / T, dim=1)
    soft = -(q * F.log_softmax(s / T, dim=1)).sum(dim=1).mean()
    hard = F.cross_entropy(s, y)
    return alpha * T * T * soft + (1.0 - alpha) * hard, soft, hard


def jitter(x, px=JITTER_PX, side=IMAGE_SIDE):
    """Shift each image of x [B, side*side] by its own random (dy, dx) in [-px, px]^2,
    filling with zeros: pad by px, then one gather of a side x side window per sample
    (a single torch.gather; ~1.5x faster here than 3-tensor advanced indexing)."""
    B = x.shape[0]
    w = side + 2 * px
    img = F.pad(x.view(B, side, side), (px, px, px, px)).view(B, w * w)
    off = torch.randint(0, 2 * px + 1, (2, B))
    ar = torch.arange(side)
    base = (ar[:, None] * w + ar[None, :]).view(1, side * side)
    return torch.gather(img, 1, base + (off[0] * w + off[1])[:, None])


# --------------------------------------------------------------------------------------
# Environment introspection: which BLAS is really loaded.
# --------------------------------------------------------------------------------------
def loaded_libs(pattern=r"blas|lapack|gomp|libomp|iomp|mkl|dnnl"):
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and re.search(pattern, os.path.basename(parts[-1])):
                    libs.add(parts[-1])
    except OSError:
        pass
    return sorted(libs)


def blas_summary():
    """Runs one sgemm so the BLAS is surely mapped, then classifies what /proc/self/maps shows."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libs = loaded_libs()
    blas_libs = [p for p in libs if re.search(r"blas|lapack|mkl", os.path.basename(p))]
    variants = set()
    for p in blas_libs:
        if "openblas-openmp" in p:
            variants.add("openblas-openmp")
        elif "openblas-pthread" in p:
            variants.add("openblas-pthread")
        elif "openblas-serial" in p:
            variants.add("openblas-serial")
        elif "mkl" in p:
            variants.add("mkl")
        elif "/blas/" in p or "/lapack/" in p:
            variants.add("reference")
        elif "openblas" in p:
            variants.add("openblas")
        else:
            variants.add("other:" + p)
    if not variants:
        name = "none-found"
    elif len(variants) == 1:
        name = next(iter(variants))
    else:
        name = "MIXED(" + ",".join(sorted(variants)) + ")"
    alternatives = {}
    for n in ("libblas.so.3", "liblapack.so.3", "libopenblas.so.0"):
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
            p = os.path.join(d, n)
            if os.path.lexists(p):
                alternatives[n] = os.path.realpath(p)
                break
    return {"blas": name, "loadedLibs": libs, "alternatives": alternatives}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# --------------------------------------------------------------------------------------
# Peak RSS per row: reset the kernel's high-water mark (write "5" to clear_refs, Linux >= 4.0)
# before a row, read VmHWM after it. Falls back to getrusage (process peak so far).
# --------------------------------------------------------------------------------------
def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------------------
# Rows. Each builder returns (step_fn, batch_pool_size); step_fn(i) runs one step on
# pool batch i % pool. All data is generated from a fixed seed before timing.
# --------------------------------------------------------------------------------------
def make_pool(n, batch, dims, gen, with_teacher_logits):
    xs = torch.rand(n, batch, dims[0], generator=gen)
    ys = torch.randint(0, dims[-1], (n, batch), generator=gen)
    ts = torch.randn(n, batch, dims[-1], generator=gen) * 5.0 if with_teacher_logits else None
    return xs, ys, ts


def make_optimizer(model, foreach):
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, foreach=foreach)


def build_student_kd_step(batch, pool, gen, args):
    model = mlp(STUDENT_DIMS).train()
    opt = make_optimizer(model, args.foreach)
    xs, ys, ts = make_pool(pool, batch, STUDENT_DIMS, gen, True)
    T, alpha = args.T, args.alpha

    def step(i):
        k = i % pool
        opt.zero_grad(set_to_none=True)
        loss, _, _ = kd_loss(model(xs[k]), ts[k], ys[k], T, alpha)
        loss.backward()
        opt.step()

    return step, 3 * forward_flops_per_sample(STUDENT_DIMS)


def build_online_kd_step(batch, pool, gen, args):
    # The teacher online: the student's KD step on a jittered batch, with the teacher's logits
    # computed on that same jittered batch under torch.no_grad() (eval mode).
    model = mlp(STUDENT_DIMS).train()
    teacher = mlp(TEACHER_DIMS).eval()
    opt = make_optimizer(model, args.foreach)
    xs, ys, _ = make_pool(pool, batch, STUDENT_DIMS, gen, False)
    T, alpha = args.T, args.alpha

    def step(i):
        k = i % pool
        x = jitter(xs[k])
        with torch.no_grad():
            t = teacher(x)
        opt.zero_grad(set_to_none=True)
        loss, _, _ = kd_loss(model(x), t, ys[k], T, alpha)
        loss.backward()
        opt.step()

    return step, 3 * forward_flops_per_sample(STUDENT_DIMS) + forward_flops_per_sample(TEACHER_DIMS)


def build_teacher_step(batch, pool, gen, args):
    model = mlp(TEACHER_DIMS, input_dropout=0.2, hidden_dropout=0.5).train()
    opt = make_optimizer(model, args.foreach)
    xs, ys, _ = make_pool(pool, batch, TEACHER_DIMS, gen, False)

    def step(i):
        k = i % pool
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(jitter(xs[k])), ys[k])
        loss.backward()
        opt.step()

    return step, 3 * forward_flops_per_sample(TEACHER_DIMS)


def build_inference(dims):
    def build(batch, pool, gen, args):
        model = mlp(dims).eval()
        xs, _, _ = make_pool(pool, batch, dims, gen, False)

        def step(i):
            with torch.no_grad():
                model(xs[i % pool])

        return step, forward_flops_per_sample(dims)

    return build


# --------------------------------------------------------------------------------------
# Convolutional rows (issue 18): the same model specs as our zoo (src/nn/spec.ts), built from
# torch.nn modules, each parameter also reachable by our name (for --check files).
# FLOPs: a convolution's forward is 2*Cout*Hout*Wout*(Cin/groups)*k^2 per example, a dense
# layer 2*in*out (counted here with forward hooks on the modules themselves).
# --------------------------------------------------------------------------------------
CONV_ROWS = {
    "cnn-kd-step": ("cnn:32,64:256", (1, 28, 28), True),
    "resnet-kd-step": ("resnet:16,32,64", (3, 32, 32), True),
    "mobilenet-kd-step": ("mobilenet:16,32,64,128", (3, 32, 32), True),
    "cnn-teacher-inference": ("cnn:32,64:256", (1, 28, 28), False),
}
CLASSES = 10


def _ints(text, what, spec):
    try:
        v = [int(t) for t in text.split(",")] if text.strip() else []
    except ValueError:
        v = None
    if v is None or any(x <= 0 for x in v):
        raise SystemExit("model spec %r: %s must be positive integers, got %r" % (spec, what, text))
    return v


class ZooNet(nn.Module):
    """cnn:/resnet:/mobilenet: specs as in src/nn/spec.ts. `ours` maps our parameter and
    buffer names to (tensor, transposed): our Linear weight is [in,out], nn.Linear's [out,in]."""

    def __init__(self, spec, in_shape, classes):
        super().__init__()
        self.spec = spec
        self.ours = {}
        kind, _, body = spec.partition(":")
        cin = in_shape[0]
        if kind == "cnn":
            k = 5
            if "@" in body:
                body, _, ks = body.partition("@")
                k = int(ks)
            conv_s, _, fc_s = body.partition(":")
            layers, ch, side_h, side_w = [], cin, in_shape[1], in_shape[2]
            for i, c in enumerate(_ints(conv_s, "channel counts", spec)):
                conv = nn.Conv2d(ch, c, k, padding=k // 2)
                self._reg("conv%d" % (i + 1), conv)
                layers += [conv, nn.MaxPool2d(2), nn.ReLU()]
                ch, side_h, side_w = c, side_h // 2, side_w // 2
            layers.append(nn.Flatten())
            width = ch * side_h * side_w
            for i, h in enumerate(_ints(fc_s, "fully connected sizes", spec)):
                lin = nn.Linear(width, h)
                self._reg("fc%d" % (i + 1), lin)
                layers += [lin, nn.ReLU()]
                width = h
            out = nn.Linear(width, classes)
            self._reg("out", out)
            layers.append(out)
            self.body = nn.Sequential(*layers)
        elif kind == "resnet":
            conv_s, _, blocks_s = body.partition(":")
            chans = _ints(conv_s, "stage channel counts", spec)
            blocks = int(blocks_s) if blocks_s else 1
            layers = self._conv_bn("stem.conv", cin, chans[0], 3, 1, nn.ReLU)
            ch = chans[0]
            for s_i, c in enumerate(chans):
                for b in range(blocks):
                    name = "stage%d.block%d" % (s_i + 1, b + 1)
                    stride = 2 if s_i > 0 and b == 0 else 1
                    body_m = nn.Sequential(*(self._conv_bn(name + ".conv1", ch, c, 3, stride, nn.ReLU)
                                             + self._conv_bn(name + ".conv2", c, c, 3, 1, None)))
                    short = (nn.Sequential(*self._conv_bn(name + ".shortcut", ch, c, 1, stride, None))
                             if stride != 1 or ch != c else None)
                    layers.append(_Residual(body_m, short))
                    ch = c
            out = nn.Linear(ch, classes)
            self._reg("out", out)
            self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), out)
        elif kind == "mobilenet":
            chans = _ints(body, "channel counts", spec)
            layers = self._conv_bn("stem.conv", cin, chans[0], 3, 1, nn.ReLU6)
            ch = chans[0]
            for i, c in enumerate(chans[1:]):
                name = "block%d" % (i + 1)
                layers += self._conv_bn(name + ".dw", ch, ch, 3, 2 if c > ch else 1, nn.ReLU6, groups=ch)
                layers += self._conv_bn(name + ".pw", ch, c, 1, 1, nn.ReLU6)
                ch = c
            out = nn.Linear(ch, classes)
            self._reg("out", out)
            self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), out)
        else:
            raise SystemExit("model spec %r: expected cnn:, resnet: or mobilenet:" % spec)

    def _reg(self, name, m):
        self.ours[name + ".weight"] = (m.weight, isinstance(m, nn.Linear))
        if getattr(m, "bias", None) is not None:
            self.ours[name + ".bias"] = (m.bias, False)

    def _conv_bn(self, name, cin, cout, k, stride, act, groups=1):
        conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)
        # ONNX momentum 0.9 (running = 0.9*running + 0.1*batch) is torch's momentum 0.1
        bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self._reg(name, conv)
        self._reg(name + ".bn", bn)
        self.ours[name + ".bn.running_mean"] = (bn.running_mean, False)
        self.ours[name + ".bn.running_var"] = (bn.running_var, False)
        return [conv, bn] + ([act()] if act else [])

    def forward(self, x):
        return self.body(x)


class _Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return F.relu(self.body(x) + (self.shortcut(x) if self.shortcut is not None else x))


def module_flops(model, in_shape):
    """Forward FLOPs per example, counted by hooks on Conv2d and Linear during one forward."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += 2 * out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += 2 * m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *in_shape))
    model.train(was)
    for h in hs:
        h.remove()
    return total[0]


def build_conv_row(name):
    spec, in_shape, kd = CONV_ROWS[name]

    def build(batch, pool, gen, args):
        model = ZooNet(spec, in_shape, CLASSES)
        fwd = module_flops(model, in_shape)
        xs = torch.rand(pool, batch, *in_shape, generator=gen)
        if not kd:
            model.eval()

            def infer(i):
                with torch.no_grad():
                    model(xs[i % pool])

            return infer, fwd
        model.train()
        opt = make_optimizer(model, args.foreach)
        ys = torch.randint(0, CLASSES, (pool, batch), generator=gen)
        ts = torch.randn(pool, batch, CLASSES, generator=gen) * 5.0
        T, alpha = args.T, args.alpha

        def step(i):
            k = i % pool
            opt.zero_grad(set_to_none=True)
            loss, _, _ = kd_loss(model(xs[k]), ts[k], ys[k], T, alpha)
            loss.backward()
            opt.step()

        return step, 3 * fwd

    return build


BUILDERS = {
    "student-kd-step": build_student_kd_step,
    "online-kd-step": build_online_kd_step,
    "teacher-step": build_teacher_step,
    "teacher-inference": build_inference(TEACHER_DIMS),
    "student-forward": build_inference(STUDENT_DIMS),
    **{name: build_conv_row(name) for name in CONV_ROWS},
}
DEFAULT_ROWS = (
    ("student-kd-step", 128),
    ("student-kd-step", 256),
    ("online-kd-step", 128),
    ("teacher-step", 128),
    ("teacher-inference", 1024),
    ("student-forward", 128),
    ("cnn-kd-step", 128),
    ("resnet-kd-step", 128),
    ("mobilenet-kd-step", 128),
    ("cnn-teacher-inference", 1024),
)


class RowRunner:
    """One row, prepared (models, data, warm-up) and then timed pass by pass, so that a driver
    (bench/peer.ts through --serve) can alternate its own passes with these."""

    def __init__(self, name, batch, args):
        torch.manual_seed(DATA_SEED)  # dropout masks, jitter offsets and initial weights
        gen = torch.Generator().manual_seed(DATA_SEED)  # data pool
        self.name, self.batch, self.args = name, batch, args
        self.have_reset = reset_peak_rss()
        self.step, self.flops_per_sample = BUILDERS[name](batch, args.pool, gen, args)
        self.i = 0
        self.rates = []

    def warmup(self, n):
        for _ in range(n):
            self.step(self.i)
            self.i += 1

    def timed_pass(self, steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step(self.i)
            self.i += 1
        dt = time.perf_counter() - t0
        self.rates.append(steps * self.batch / dt)
        return dt

    def summary(self):
        sps = statistics.median(self.rates)
        return {
            "name": self.name,
            "batch": self.batch,
            "samplesPerSec": round(sps, 1),
            "gflops": round(sps * self.flops_per_sample / 1e9, 2),
            "peakRssMB": round(peak_rss_mb(), 1),
            # extras (consumers may ignore): median ms per step, every pass's rate, RSS scope
            "msPerStep": round(1000.0 * self.batch / sps, 4),
            "passSamplesPerSec": [round(r, 1) for r in self.rates],
            "rssScope": "row" if self.have_reset else "process",
            "flopsPerSample": self.flops_per_sample,
        }


def run_row(name, batch, args):
    row = RowRunner(name, batch, args)
    row.warmup(args.warmup)
    for _ in range(args.passes):
        row.timed_pass(args.steps)
    return row.summary()


def serve(args, meta):
    """--serve: one JSON command per stdin line, one JSON reply per stdout line.
      {"cmd": "meta"}                                  -> meta (+ rssAfterImportMB)
      {"cmd": "prepare", "name": N, "batch": B, "warmup": W}  -> {"ok": true}
      {"cmd": "pass", "steps": S}                      -> {"seconds": dt}
      {"cmd": "finish"}                                -> the row's summary (as in the JSON rows)
      {"cmd": "check", "file": F, "dtype": D}          -> the --check result for F
      {"cmd": "quit"}                                  -> exits
    Errors reply {"error": message}."""
    row = None
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "meta":
                rep = meta
            elif cmd == "prepare":
                row = None
                row = RowRunner(req["name"], int(req["batch"]), args)
                row.warmup(int(req.get("warmup", args.warmup)))
                rep = {"ok": True}
            elif cmd == "pass":
                rep = {"seconds": row.timed_pass(int(req["steps"]))}
            elif cmd == "finish":
                rep = row.summary()
                row = None
            elif cmd == "check":
                rep = check_loss(req["file"], req.get("dtype", "float32"))
            elif cmd == "quit":
                return
            else:
                rep = {"error": "unknown command %r" % cmd}
        except SystemExit as e:
            rep = {"error": str(e)}
        except Exception as e:  # report, keep serving
            rep = {"error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(rep) + "\n")
        out.flush()


def parse_rows(spec):
    if not spec:
        return list(DEFAULT_ROWS)
    rows = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, b = item.partition(":")
        if name not in BUILDERS:
            raise SystemExit(
                "--only: unknown row %r; valid: %s" % (name, ", ".join(ROW_NAMES)))
        if b:
            if not b.isdigit() or int(b) < 1:
                raise SystemExit("--only: batch for %r must be a positive integer, got %r" % (name, b))
            rows.append((name, int(b)))
        else:
            rows.extend(r for r in DEFAULT_ROWS if r[0] == name)
    return rows


# --------------------------------------------------------------------------------------
# --check FILE.json: the KD loss on a given batch and weights (see README for the format).
# --------------------------------------------------------------------------------------
def tensor_from_json(obj, key, dtype):
    if isinstance(obj, dict):
        if "shape" not in obj or "data" not in obj:
            raise SystemExit("--check: %s must be a nested list or {\"shape\", \"data\"}" % key)
        shape = [int(d) for d in obj["shape"]]
        data = obj["data"]
        if len(data) != math.prod(shape):
            raise SystemExit("--check: %s has %d values, shape %s needs %d"
                             % (key, len(data), shape, math.prod(shape)))
        return torch.tensor(data, dtype=dtype).reshape(shape)
    if isinstance(obj, list):
        return torch.tensor(obj, dtype=dtype)
    raise SystemExit("--check: %s must be a nested list or {\"shape\", \"data\"}" % key)


def check_conv_loss(spec, fdt, dtype):
    """--check for a convolutional row: build spec["spec"], load spec["params"] by our names
    (training mode: BatchNorm on batch statistics, as our step graph) and compute the KD loss."""
    for key in ("inputShape", "classes", "params"):
        if key not in spec:
            raise SystemExit("--check: missing key %r" % key)
    in_shape = tuple(int(d) for d in spec["inputShape"])
    model = ZooNet(spec["spec"], in_shape, int(spec["classes"])).to(fdt).train()
    given = spec["params"]
    missing = sorted(set(model.ours) - set(given))
    extra = sorted(set(given) - set(model.ours))
    if missing or extra:
        raise SystemExit("--check: parameters of %s: missing %s, unexpected %s" % (spec["spec"], missing, extra))
    with torch.no_grad():
        for name, (t, transposed) in model.ours.items():
            v = tensor_from_json(given[name], name, fdt)
            v = v.t() if transposed else v
            if list(v.shape) != list(t.shape):
                raise SystemExit("--check: %s has shape %s, expected %s%s" % (name, list(v.shape), list(t.shape), " (transposed)" if transposed else ""))
            t.copy_(v)
    x = tensor_from_json(spec["x"], "x", fdt)
    B = x.shape[0]
    x = x.reshape(B, *in_shape)
    y = tensor_from_json(spec["y"], "y", torch.float64).reshape(-1)
    if y.shape[0] != B or not torch.equal(y, y.round()) or y.min() < 0 or y.max() >= int(spec["classes"]):
        raise SystemExit("--check: y must hold %d integer labels in [0, %d)" % (B, int(spec["classes"])))
    t = tensor_from_json(spec["t"], "t", fdt)
    with torch.no_grad():
        loss, soft, hard = kd_loss(model(x), t, y.long(), float(spec["T"]), float(spec["alpha"]))
    return {"loss": float(loss), "soft": float(soft), "hard": float(hard), "dtype": dtype,
            "spec": spec["spec"], "batch": B}


def check_loss(path, dtype):
    with open(path) as f:
        spec = json.load(f)
    fdt = torch.float64 if dtype == "float64" else torch.float32
    if "spec" in spec:
        for key in ("x", "y", "t", "T", "alpha"):
            if key not in spec:
                raise SystemExit("--check: missing key %r" % key)
        return check_conv_loss(spec, fdt, dtype)
    for key in ("x", "y", "t", "T", "alpha"):
        if key not in spec:
            raise SystemExit("--check: missing key %r" % key)
    layers = []
    i = 1
    while "W%d" % i in spec:
        if "b%d" % i not in spec:
            raise SystemExit("--check: W%d given without b%d" % (i, i))
        W = tensor_from_json(spec["W%d" % i], "W%d" % i, fdt)
        b = tensor_from_json(spec["b%d" % i], "b%d" % i, fdt).reshape(-1)
        if W.dim() != 2 or b.shape[0] != W.shape[1]:
            raise SystemExit("--check: W%d must be [in,out] and b%d [out]; got %s and %s"
                             % (i, i, list(W.shape), list(b.shape)))
        layers.append((W, b))
        i += 1
    if not layers:
        raise SystemExit("--check: no weights (expected W1, b1, W2, b2, ...)")
    dims = [layers[0][0].shape[0]] + [W.shape[1] for W, _ in layers]
    for k in range(1, len(layers)):
        if layers[k][0].shape[0] != dims[k]:
            raise SystemExit("--check: W%d has %d inputs, W%d has %d outputs"
                             % (k + 1, layers[k][0].shape[0], k, dims[k]))
    x = tensor_from_json(spec["x"], "x", fdt)
    x = x.reshape(x.shape[0], -1)
    y = tensor_from_json(spec["y"], "y", torch.float64).reshape(-1)
    if not torch.equal(y, y.round()) or y.min() < 0 or y.max() >= dims[-1]:
        raise SystemExit("--check: y must hold integer labels in [0, %d)" % dims[-1])
    y = y.long()
    t = tensor_from_json(spec["t"], "t", fdt)
    B = x.shape[0]
    if x.shape[1] != dims[0] or y.shape[0] != B or list(t.shape) != [B, dims[-1]]:
        raise SystemExit("--check: need x [B,%d], y [B], t [B,%d]; got %s, %s, %s"
                         % (dims[0], dims[-1], list(x.shape), list(y.shape), list(t.shape)))
    # The same model class and loss function as the timed rows; the file's W is [in,out]
    # (ONNX Gemm without transB), nn.Linear.weight is [out,in]: transpose here.
    model = mlp(dims).to(fdt)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for lin, (W, b) in zip(linears, layers):
            lin.weight.copy_(W.t())
            lin.bias.copy_(b)
        loss, soft, hard = kd_loss(model(x), t, y, float(spec["T"]), float(spec["alpha"]))
    return {"loss": float(loss), "soft": float(soft), "hard": float(hard), "dtype": dtype,
            "dims": dims, "batch": B}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--passes", type=int, default=7, help="timed passes per row; median reported (default 7)")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed pass (default 50)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps before the passes (default 20)")
    ap.add_argument("--pool", type=int, default=8, help="pre-generated batches cycled through (default 8)")
    ap.add_argument("--only", default="", help="rows to run, e.g. 'student-kd-step:256,teacher-step'")
    ap.add_argument("--T", type=float, default=20.0, help="KD temperature (default 20)")
    ap.add_argument("--alpha", type=float, default=0.9, help="KD soft-loss weight (default 0.9)")
    ap.add_argument("--foreach", choices=("auto", "on", "off"), default="auto",
                    help="SGD foreach (multi-tensor) update; auto = torch's default")
    ap.add_argument("--serve", action="store_true",
                    help="read JSON commands on stdin (used by npm run bench:peer); see serve()")
    ap.add_argument("--json", metavar="FILE", help="write the JSON here instead of stdout")
    ap.add_argument("--check", metavar="FILE", help="print {\"loss\": ...} for the KD loss on FILE and exit")
    ap.add_argument("--check-dtype", choices=("float32", "float64"), default="float32",
                    help="dtype for --check (default float32, the dtype the bench trains in)")
    args = ap.parse_args()
    for k in ("threads", "passes", "steps", "pool"):
        if getattr(args, k) < 1:
            ap.error("--%s must be >= 1" % k)
    if args.warmup < 0:
        ap.error("--warmup must be >= 0")
    args.foreach = {"auto": None, "on": True, "off": False}[args.foreach]
    torch.set_num_threads(args.threads)

    if args.check:
        out = check_loss(args.check, args.check_dtype)
    else:
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if var in os.environ:
                print("warning: %s is set (%s); it slows OpenBLAS - run with env -u %s"
                      % (var, os.environ[var], var), file=sys.stderr)
        blas = blas_summary()
        if blas["blas"] != "openblas-openmp":
            print("warning: BLAS in use is %s, not openblas-openmp; run bench/peers/setup-torch.sh"
                  % blas["blas"], file=sys.stderr)
        meta = {
            "torchVersion": torch.__version__,
            "python": platform.python_version(),
            "blas": blas["blas"],
            "blasLibs": [p for p in blas["loadedLibs"] if re.search(r"blas|lapack|mkl", p)],
            "alternatives": blas["alternatives"],
            "loadedLibs": blas["loadedLibs"],
            "threads": torch.get_num_threads(),
            "parallelBackend": "OpenMP" if "OpenMP" in torch.__config__.parallel_info() else "other",
            "cpu": cpu_model(),
            "passes": args.passes,
            "steps": args.steps,
            "warmup": args.warmup,
            "pool": args.pool,
            "T": args.T,
            "alpha": args.alpha,
            "lr": LR,
            "momentum": MOMENTUM,
            "sgdForeach": {None: "auto", True: "on", False: "off"}[args.foreach],
            "flops": "dense layer forward = 2*B*in*out; training step = 3x forward; inference = 1x",
            "env": {k: os.environ.get(k) for k in
                    ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            # extra: the interpreter's resident set once torch is imported (before any row)
            "rssAfterImportMB": round(RSS_AFTER_IMPORT_MB, 1),
        }
        if args.serve:
            serve(args, meta)
            return
        rows = []
        for name, batch in parse_rows(args.only):
            row = run_row(name, batch, args)
            print("%-18s batch %5d  %10.1f samples/s  %7.2f GFLOP/s  peak RSS %.0f MB"
                  % (name, batch, row["samplesPerSec"], row["gflops"], row["peakRssMB"]),
                  file=sys.stderr)
            rows.append(row)
        out = {"peer": "pytorch", "meta": meta, "rows": rows}
    text = json.dumps(out) if args.check else json.dumps(out, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
