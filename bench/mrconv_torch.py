# PyTorch beside bench/mrconv.js: max-relative at the SACL shape (B 16, N 18, K 9, C), gather + max − x (Vision GNN MRConv), forward and fwd+bwd.
# /usr/bin/python3 bench/mrconv_torch.py 64 512   (THREADS=n: torch threads, default 2). Wall and process CPU time per call.
import sys, time, torch
torch.set_num_threads(int(__import__("os").environ.get("THREADS", "2")))
B, N, K = 16, 18, 9
for C in [int(c) for c in sys.argv[1:]] or [64]:
    x = torch.randn(B, N, C, requires_grad=True)
    idx = torch.randint(0, N, (B, N, K))
    def fwd():
        with torch.no_grad():
            xj = x[torch.arange(B)[:, None, None], idx]  # [B, N, K, C]
            return xj.max(dim=2).values - x
    def fb():
        xj = x[torch.arange(B)[:, None, None], idx]
        out = xj.max(dim=2).values - x
        out.backward(torch.ones_like(out))
    for name, f in [('fwd', fwd), ('fwd+bwd', fb)]:
        for _ in range(50): f()
        ts = []
        for r in range(7):
            c0 = time.process_time(); t0 = time.perf_counter(); n = 50
            for _ in range(n): f()
            ts.append(((time.perf_counter() - t0) / n * 1e6, (time.process_time() - c0) / n * 1e6))
        ts.sort()
        print(f'PyTorch C={C} {name}: wall median {ts[3][0]:.1f} us (min {ts[0][0]:.1f}), cpu {sorted(t[1] for t in ts)[3]:.1f} us')
