/**
 * PyTorch-written test files for the ResT weight loader: a small ResT (the authors' module and parameter
 * names, written here from their paper's description), its state dict saved by torch.save in the forms
 * checkpoints come in, a .safetensors copy written by hand (struct + json), and PyTorch's own forward
 * outputs on one input. Needs /usr/bin/python3 with torch; `PY_TORCH` is null without it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PY_TORCH = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;

const SCRIPT = String.raw`
import sys, json, struct, collections, argparse, zipfile, pickle, io
import torch, torch.nn as nn, torch.nn.functional as F
out, cfg, size = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)

class PA(nn.Module):
    def __init__(s, c):
        super().__init__(); s.pa_conv = nn.Conv2d(c, c, 3, padding=1, groups=c)
    def forward(s, x): return x * torch.sigmoid(s.pa_conv(x))

class Stem(nn.Module):
    def __init__(s, c):
        super().__init__(); h = c // 2
        s.conv1 = nn.Conv2d(3, h, 3, 2, 1, bias=False); s.norm1 = nn.BatchNorm2d(h)
        s.conv2 = nn.Conv2d(h, h, 3, 1, 1, bias=False); s.norm2 = nn.BatchNorm2d(h)
        s.conv3 = nn.Conv2d(h, c, 3, 2, 1, bias=False); s.pos = PA(c)
    def forward(s, x):
        x = F.relu(s.norm1(s.conv1(x))); x = F.relu(s.norm2(s.conv2(x)))
        return s.pos(s.conv3(x))

class Embed(nn.Module):
    def __init__(s, i, o):
        super().__init__(); s.conv = nn.Conv2d(i, o, 3, 2, 1); s.norm = nn.BatchNorm2d(o); s.pos = PA(o)
    def forward(s, x): return s.pos(s.norm(s.conv(x)))

class Attn(nn.Module):
    def __init__(s, d, h, sr):
        super().__init__(); s.h, s.r = h, sr
        s.q = nn.Linear(d, d); s.kv = nn.Linear(d, 2 * d); s.proj = nn.Linear(d, d)
        if sr > 1: s.sr = nn.Conv2d(d, d, sr + 1, sr, sr // 2, groups=d); s.sr_norm = nn.LayerNorm(d)
        if h > 1: s.transform_conv = nn.Conv2d(h, h, 1); s.transform_norm = nn.InstanceNorm2d(h)
    def forward(s, x, H, W):
        B, N, C = x.shape; d = C // s.h
        q = s.q(x).reshape(B, N, s.h, d).transpose(1, 2)
        src = s.sr_norm(s.sr(x.transpose(1, 2).reshape(B, C, H, W)).flatten(2).transpose(1, 2)) if s.r > 1 else x
        k, v = s.kv(src).reshape(B, -1, 2, s.h, d).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1)) * d ** -0.5
        a = s.transform_norm(s.transform_conv(a).softmax(-1)) if s.h > 1 else a.softmax(-1)
        return s.proj((a @ v).transpose(1, 2).reshape(B, N, C))

class Mlp(nn.Module):
    def __init__(s, d, r):
        super().__init__(); s.fc1 = nn.Linear(d, d * r); s.fc2 = nn.Linear(d * r, d)
    def forward(s, x): return s.fc2(F.gelu(s.fc1(x)))

class Block(nn.Module):
    def __init__(s, d, h, sr, r):
        super().__init__(); s.norm1 = nn.LayerNorm(d); s.attn = Attn(d, h, sr); s.norm2 = nn.LayerNorm(d); s.mlp = Mlp(d, r)
    def forward(s, x, H, W):
        x = x + s.attn(s.norm1(x), H, W)
        return x + s.mlp(s.norm2(x))

class ResT(nn.Module):
    def __init__(s, c):
        super().__init__(); D = c['dims']
        s.stem = Stem(D[0])
        for i in (1, 2, 3): setattr(s, 'patch_embed_%d' % (i + 1), Embed(D[i - 1], D[i]))
        for i in range(4):
            setattr(s, 'stage%d' % (i + 1), nn.ModuleList([Block(D[i], c['heads'][i], c['srRatios'][i], c['mlpRatio']) for _ in range(c['depths'][i])]))
        s.norm = nn.LayerNorm(D[3]); s.head = nn.Linear(D[3], 10)
    def forward(s, x):
        stem = x = s.stem(x); outs = []
        for i in range(4):
            if i: x = getattr(s, 'patch_embed_%d' % (i + 1))(x)
            B, C, H, W = x.shape; t = x.flatten(2).transpose(1, 2)
            for b in getattr(s, 'stage%d' % (i + 1)): t = b(t, H, W)
            if i == 3: t = s.norm(t)
            x = t.transpose(1, 2).reshape(B, C, H, W); outs.append(x)
        return stem, outs

net = ResT(cfg)
with torch.no_grad():
    for n, p in net.named_parameters():
        p.copy_(1 + 0.1 * torch.randn_like(p) if n.endswith('norm1.weight') or n.endswith('norm2.weight') or n.endswith('norm.weight') else 0.3 * torch.randn_like(p))
    for n, b in net.named_buffers():
        if n.endswith('running_mean'): b.copy_(0.2 * torch.randn_like(b))
        if n.endswith('running_var'): b.copy_(0.5 + torch.rand_like(b))
        if n.endswith('num_batches_tracked'): b.fill_(1234)
net.eval()
sd = net.state_dict()
torch.save(sd, out + '/rest.pth')
# a training checkpoint as the ResT scripts write them: wrapped, DataParallel names, optimizer, args
torch.save({'model': collections.OrderedDict(('module.' + k, v) for k, v in sd.items()),
            'optimizer': {'state': {0: {'exp_avg': torch.ones(3)}}, 'param_groups': [{'lr': 1e-3, 'betas': (0.9, 0.999), 'params': [0]}]},
            'epoch': 299, 'args': argparse.Namespace(model='rest_lite', drop_path=0.1)}, out + '/checkpoint.pth')
# names or shapes that do not fit
bad = collections.OrderedDict(sd)
bad['stem.conv1.weight'] = torch.zeros(cfg['dims'][0] // 2, 3, 5, 5)
del bad['stage1.0.attn.q.weight']
torch.save({'state_dict': bad}, out + '/bad.pth')
with zipfile.ZipFile(out + '/rest.pth') as src, zipfile.ZipFile(out + '/deflated.pth', 'w', zipfile.ZIP_DEFLATED) as dst:
    for n in src.namelist(): dst.writestr(n, src.read(n))
torch.save(sd, out + '/legacy.pth', _use_new_zipfile_serialization=False)
torch.save({'fc.weight': torch.ones(2, 2)}, out + '/other.pth')

# views, dtypes and parameters, with their values
base = torch.arange(24, dtype=torch.float32) / 7 - 1
views = collections.OrderedDict()
views['t'] = base.view(4, 6).t()
views['offset'] = base[5:11]
views['window'] = base.view(4, 6)[1:3, 2:5]
views['half'] = torch.tensor([0.5, -2.0, 65504.0, 1e-7, 3.14159], dtype=torch.float16)
views['bfloat'] = torch.tensor([1.5, -3.25, 1e30], dtype=torch.bfloat16)
views['double'] = torch.tensor([[1 / 3, 2.5e-40]], dtype=torch.float64)
views['count'] = torch.tensor(7)
views['param'] = nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
torch.save(views, out + '/views.pth')
expected = {k: {'shape': list(v.shape), 'values': v.detach().float().flatten().tolist()} for k, v in views.items()}

# the same state dict as .safetensors, written by hand (8-byte header size, JSON header, raw data)
codes = {torch.float32: 'F32', torch.int64: 'I64', torch.float16: 'F16', torch.bfloat16: 'BF16'}
entries = list(sd.items()) + [('extra.half', views['half']), ('extra.bfloat', views['bfloat'])]
header, blobs, at = {'__metadata__': {'format': 'pt'}}, [], 0
for k, v in entries:
    raw = v.contiguous().view(torch.uint8).numpy().tobytes() if v.dtype == torch.bfloat16 else v.contiguous().numpy().tobytes()
    header[k] = {'dtype': codes[v.dtype], 'shape': list(v.shape), 'data_offsets': [at, at + len(raw)]}
    blobs.append(raw); at += len(raw)
h = json.dumps(header).encode()
with open(out + '/rest.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(h))); f.write(h); f.write(b''.join(blobs))

# hostile archives in torch.save's layout: a forged stride, and a storage larger than its bytes
class Storage: pass
def forged(path, numel, data, size, stride):
    st = Storage()
    class T:
        def __reduce__(self): return (torch._utils._rebuild_tensor_v2, (st, 0, size, stride, False, collections.OrderedDict()))
    class P(pickle.Pickler):
        def persistent_id(self, o): return ('storage', torch.FloatStorage, '0', 'cpu', numel) if o is st else None
    b = io.BytesIO(); P(b, protocol=2).dump({'stem.conv1.weight': T()})
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('archive/data.pkl', b.getvalue()); z.writestr('archive/data/0', data); z.writestr('archive/version', '3\n')
forged(out + '/stride.pth', 4, bytes(16), (10 ** 9,), (0,))
forged(out + '/storage.pth', 10 ** 9, bytes(16), (4,), (1,))
with zipfile.ZipFile(out + '/long.pth', 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps({'x': 2 ** 800}, protocol=2)); z.writestr('archive/version', '3\n')

# LayerNorm where eps matters: a row whose variance is near PyTorch's default eps (1e-5)
ln_in = torch.tensor([[1.0, 1.002, 0.997, 1.005, 0.999, 1.001]])
ln_out = nn.LayerNorm(6)(ln_in).detach()

x = torch.randn(1, 3, size, size)
with torch.no_grad(): stem, outs = net(x)
nhwc = lambda t: {'shape': list(t.permute(0, 2, 3, 1).shape), 'values': t.permute(0, 2, 3, 1).flatten().tolist()}
json.dump({'input': nhwc(x), 'stem': nhwc(stem), 'stages': [nhwc(o) for o in outs], 'views': expected,
           'names': list(sd.keys()), 'layerNorm': {'input': ln_in.flatten().tolist(), 'output': ln_out.flatten().tolist()},
           'state': {k: {'shape': list(v.shape), 'values': v.float().flatten().tolist()} for k, v in sd.items()}},
          open(out + '/expected.json', 'w'))
`;

/** Writes the files into `dir` for a backbone config at input `size`; returns the expected values. */
export function writeRestFiles(dir, backbone, size) {
  const r = spawnSync(PY_TORCH, ['-c', SCRIPT, dir, JSON.stringify(backbone), String(size)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
}
