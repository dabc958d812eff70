"""Which environment variables change the bits of the book's computations on this machine?

    python -m benchmarks.cpu_paths

Runs a few fingerprint computations (BPTT by hand, a convolution's gradient, float32 matrix
products, random draws, a short CNN training run) in a fresh process under each setting, and says
which settings changed any bit relative to the plain run. A setting that changes nothing here is no
test of portability, so `.ci/run` uses one that does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

SETTINGS = {
    "plain": {},
    "ATEN_CPU_CAPABILITY=default": {"ATEN_CPU_CAPABILITY": "default"},
    "ATEN_CPU_CAPABILITY=avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "MKL_ENABLE_INSTRUCTIONS=SSE4_2": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "MKL_ENABLE_INSTRUCTIONS=AVX2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "2 torch threads": {"COMPANION_FINGERPRINT_THREADS": "2"},
}


def fingerprints() -> dict[str, str]:
    """Hashes of the exact bits of each computation, in this process's environment."""
    import torch
    import torch.nn.functional as F

    from companion.cnn import CNN, ClassifierConfig, train_classifier
    from companion.conv import conv2d_backward
    from companion.data import load_digits
    from companion.rnn import rnn_backward

    torch.set_num_threads(int(os.environ.get("COMPANION_FINGERPRINT_THREADS", "1")))

    def digest(*tensors) -> str:
        h = hashlib.sha256()
        for t in tensors:
            h.update(t.detach().contiguous().cpu().numpy().tobytes())
        return h.hexdigest()[:12]

    out = {}
    g = torch.Generator().manual_seed(0)
    T, N, D, H, O = 7, 3, 4, 5, 2
    args = [torch.randn(*shape, generator=g, dtype=torch.float64) for shape in
            ((T, N, D), (N, H), (H, D), (H, H), (H,), (O, H), (O,), (T, N, O))]
    grads = rnn_backward(*args)
    out["BPTT by hand (float64)"] = digest(*grads.values())
    x = torch.randn(2, 3, 9, 8, generator=g, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 2, generator=g, dtype=torch.float64)
    grad_y = torch.randn(F.conv2d(x, w, stride=2, padding=1).shape, generator=g, dtype=torch.float64)
    out["conv2d_backward (float64)"] = digest(*conv2d_backward(x, w, grad_y, stride=2, padding=1))
    a = torch.randn(256, 300, generator=g)
    b = torch.randn(300, 128, generator=g)
    out["matmul (float32)"] = digest(a @ b)
    out["F.conv2d (float32)"] = digest(F.conv2d(torch.randn(8, 16, 28, 28, generator=g),
                                                torch.randn(32, 16, 3, 3, generator=g), padding=1))
    out["torch.randn (float32)"] = digest(torch.randn(1000, generator=torch.Generator().manual_seed(1)))
    out["tanh, exp, log (float32)"] = digest(torch.tanh(a), torch.exp(a), torch.log(a.abs() + 1))
    images, labels = load_digits("train")
    torch.manual_seed(0)
    model, _ = train_classifier(images[:256], labels[:256], ClassifierConfig(epochs=1),
                                generator=torch.Generator().manual_seed(0), progress=False)
    out["1 epoch of CNN training"] = digest(*(p for p in model.parameters()))
    assert isinstance(model, CNN)
    return out


def main() -> int:
    results = {}
    for name, extra in SETTINGS.items():
        env = {**os.environ, **extra}
        run = subprocess.run([sys.executable, "-c", "import json, benchmarks.cpu_paths as c; "
                              "print(json.dumps(c.fingerprints()))"], env=env, capture_output=True, text=True,
                             check=True)
        results[name] = json.loads(run.stdout.strip().splitlines()[-1])
    plain = results["plain"]
    print("| setting | computations whose bits differ from the plain run |")
    print("| --- | --- |")
    for name, prints in results.items():
        if name == "plain":
            continue
        changed = [key for key in plain if prints[key] != plain[key]]
        print(f"| {name} | {', '.join(changed) if changed else 'none'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
