"""One table for the book's generative models: GAN, VAE, diffusion and independent pixels on the same digits.

    python -m benchmarks.generative                 # prints the table, writes benchmarks/results/generative.json
    python -m benchmarks --only generative          # the same table inside the benchmark report

Every model trains on the 1,437 training digits with its package defaults (the recipes the chapters
train), one torch thread, a fixed number of steps, seed 0. Each is judged the way chapter 4 judges
the GAN, in the feature space of the chapter's digit CNN (`quality.cnn_rows`, seed 0):

- Fréchet distance (eq. 1.4.2b) of blocks of 360 samples to the training digits, the mean over
  5 blocks (one block of 360 is too noisy a figure), beside the floor (the 360 real test digits), the
  ceiling (360 images of uniform noise) and what a model that copies its training set would score (360
  training digits): the distance is to the training set, so copying lowers it, which novelty catches;
- label coverage: the entropy (1.4.2c) of the CNN's labels for 1,000 samples and the number of classes seen;
- novelty: median distance of 360 samples to their nearest training digit over the same for the
  test digits, and the share of samples closer than the closest 5 % of test digits;
- training seconds (wall and CPU), sampling milliseconds per image (1,000 images at once);
- −ELBO where a model has one, in two units that must not be mixed: the VAE's Bernoulli
  cross-entropy with grey levels as targets (chapter 4's convention; not a likelihood) beside
  independent Bernoulli pixels, and the diffusion model's bound on −log P of the 17-level images
  beside independent 17-level pixels (an exact likelihood).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from companion.data import load_digits

RESULTS = Path(__file__).resolve().parent / "results"
BLOCK = 360  # the test split's size: the floor's sample size
BLOCKS = 5
LEVELS = 17  # the digits' grey levels 0/16 ... 16/16


@dataclass
class Judge:
    """The chapter's yardsticks: CNN features of the training digits, the floor, the ceiling, the test digits."""

    cnn: torch.nn.Module
    reference: torch.Tensor  # (1437, 512) CNN features of the training digits
    floor: float
    ceiling: float
    copying: float  # 360 training digits: what a model that returns its training set scores
    x_train: torch.Tensor
    x_test: torch.Tensor

    @classmethod
    def build(cls, device: torch.device) -> Judge:
        from benchmarks.quality import cnn_rows
        from companion.metrics import frechet_distance

        cnn, _ = cnn_rows(device)
        cnn = cnn.cpu().eval()
        x_train, _ = load_digits("train")
        x_test, _ = load_digits("test")
        noise = torch.rand(BLOCK, 1, 8, 8, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            reference = cnn.features(x_train)
            floor = frechet_distance(cnn.features(x_test), reference)
            ceiling = frechet_distance(cnn.features(noise), reference)
            copying = frechet_distance(cnn.features(x_train[:BLOCK]), reference)
        return cls(cnn, reference, floor, ceiling, copying, x_train, x_test)

    def score(self, samples: torch.Tensor) -> dict[str, float]:
        """The figures of one model from BLOCK · BLOCKS samples (N, 1, 8, 8) in [0, 1], N ≥ 1,000."""
        from companion.metrics import frechet_distances, label_entropy, novelty_scores, predict_proba

        samples = samples.detach().cpu().float()
        if len(samples) < max(BLOCK * BLOCKS, 1000):
            raise ValueError(f"expected at least {max(BLOCK * BLOCKS, 1000)} samples, got {len(samples)}")
        with torch.no_grad():
            blocks = frechet_distances(self.cnn.features(samples[: BLOCK * BLOCKS]), self.reference, BLOCK)
        labels = predict_proba(self.cnn, samples[:1000]).argmax(1)
        novelty = novelty_scores(samples[:BLOCK], self.x_train, self.x_test)
        classes_seen = int((torch.bincount(labels, minlength=10) > 0).sum())
        return {"fd_mean": blocks.mean().item(), "fd_sd": blocks.std().item(), "fd_first_block": blocks[0].item(),
                "fd_over_floor": blocks.mean().item() / self.floor,
                "label_entropy": label_entropy(labels, 10), "classes_seen": classes_seen,
                "novelty_median_ratio": novelty["median_ratio"], "novelty_close_share": novelty["close_share"]}


class IndependentPixels:
    """The no-structure baseline: each pixel drawn on its own from its grey-level histogram (add-one smoothed)."""

    def __init__(self, images: torch.Tensor, levels: int = LEVELS):
        k = (images * (levels - 1)).round().long().flatten(1)  # (N, 64) level indices
        counts = torch.stack([torch.bincount(k[:, j], minlength=levels) for j in range(k.shape[1])]) + 1
        self.probs = counts.double() / counts.sum(1, keepdim=True)  # (64, levels)
        self.means = images.flatten(1).double().mean(0)  # (64,), for the Bernoulli reference
        self.levels, self.shape = levels, tuple(images.shape[1:])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.multinomial(self.probs, n, replacement=True, generator=generator).T  # (n, 64)
        return (k.float() / (self.levels - 1)).view(n, *self.shape)

    def negative_log_likelihood(self, images: torch.Tensor) -> torch.Tensor:
        """−log P(images) in nats, (N,): exact, on the grey levels."""
        k = (images * (self.levels - 1)).round().long().flatten(1)
        return -self.probs.log().gather(1, k.T).T.sum(1)  # (N,)

    def bernoulli_cross_entropy(self, images: torch.Tensor) -> torch.Tensor:
        """The VAE's unit: Bernoulli cross-entropy with the pixel means, (N,) nats ("no latent")."""
        p = self.means.clamp(1e-3, 1 - 1e-3).expand(len(images), -1)
        return F.binary_cross_entropy(p, images.flatten(1).double(), reduction="none").sum(1)


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _sampling_ms(model, n: int = 1000) -> float:
    """Milliseconds per image to draw n images at once (the best of three runs)."""
    best = math.inf
    for seed in range(3):
        _, wall, _ = _timed(lambda s=seed: model.sample(n, generator=torch.Generator().manual_seed(100 + s)))
        best = min(best, wall)
    return 1e3 * best / n


def measure(device: torch.device | None = None) -> dict:
    """Train the three models (seed 0), fit the baseline, and score them all; return the table as a dict."""
    from companion.diffusion import DiffusionConfig, train_diffusion
    from companion.gan import GANConfig, train_gan
    from companion.vae import VAEConfig, train_vae

    torch.set_num_threads(1)
    device = torch.device("cpu") if device is None else device
    judge = Judge.build(device)
    x_train, x_test = judge.x_train, judge.x_test
    n_samples = max(BLOCK * BLOCKS, 1000)
    seed = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    rows = {}

    (gan, _), wall, cpu = _timed(lambda: train_gan(x_train, GANConfig(), device=device, generator=seed(0),
                                                   progress=False))
    rows["GAN"] = {**judge.score(gan.sample(n_samples, generator=seed(1))), "train_seconds": wall,
                   "train_cpu_seconds": cpu, "sample_ms_per_image": _sampling_ms(gan)}

    (vae, _), wall, cpu = _timed(lambda: train_vae(x_train, VAEConfig(), device=device, generator=seed(0),
                                                   progress=False))
    with torch.no_grad():
        vae_nelbo = vae.negative_elbo(x_test.to(device), n_samples=10, generator=seed(0)).mean().item()
        vae_samples = vae.sample(n_samples, generator=seed(1))
    rows["VAE"] = {**judge.score(vae_samples), "train_seconds": wall, "train_cpu_seconds": cpu,
                   "sample_ms_per_image": _sampling_ms(vae), "neg_elbo_bernoulli": vae_nelbo}

    (diffusion, _), wall, cpu = _timed(lambda: train_diffusion(x_train, DiffusionConfig(), device=device,
                                                               generator=seed(0), progress=False))
    rows["diffusion"] = {**judge.score(diffusion.sample(n_samples, generator=seed(1))), "train_seconds": wall,
                         "train_cpu_seconds": cpu, "sample_ms_per_image": _sampling_ms(diffusion),
                         "neg_elbo_levels": diffusion.negative_elbo(x_test.to(device), LEVELS, seed(0)).mean().item()}

    pixels, wall, cpu = _timed(lambda: IndependentPixels(x_train))
    rows["independent pixels"] = {
        **judge.score(pixels.sample(n_samples, generator=seed(1))), "train_seconds": wall, "train_cpu_seconds": cpu,
        "sample_ms_per_image": _sampling_ms(pixels),
        "neg_elbo_bernoulli": pixels.bernoulli_cross_entropy(x_test).mean().item(),
        "neg_elbo_levels": pixels.negative_log_likelihood(x_test).mean().item()}

    from companion.metrics import nearest_neighbour_distances

    d_test, _ = nearest_neighbour_distances(x_test, x_train)
    return {"floor": judge.floor, "ceiling": judge.ceiling, "copying": judge.copying, "block": BLOCK, "blocks": BLOCKS,
            "test_median_nearest_distance": d_test.median().item(), "threads": torch.get_num_threads(),
            "device": str(device), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "models": rows}


def table_rows(result: dict) -> list[str]:
    """The measured table as Markdown lines."""
    rows = [f"| model | Fréchet distance (floor {result['floor']:.2f}, ceiling {result['ceiling']:.1f}) | × floor "
            "| label entropy (classes) | novelty: median ratio, share close | training s (CPU s) | sampling ms/image "
            "| −ELBO (Bernoulli) | −ELBO (17 levels) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, m in result["models"].items():
        bernoulli = f"{m['neg_elbo_bernoulli']:.2f}" if "neg_elbo_bernoulli" in m else "–"
        levels = f"{m['neg_elbo_levels']:.1f}" if "neg_elbo_levels" in m else "–"
        rows.append(f"| {name} | {m['fd_mean']:.2f} ± {m['fd_sd']:.2f} | {m['fd_over_floor']:.2f} "
                    f"| {m['label_entropy']:.3f} ({m['classes_seen']}) "
                    f"| {m['novelty_median_ratio']:.2f}, {m['novelty_close_share']:.1%} "
                    f"| {m['train_seconds']:.1f} ({m['train_cpu_seconds']:.1f}) | {m['sample_ms_per_image']:.3f} "
                    f"| {bernoulli} | {levels} |")
    return rows


def main() -> int:
    result = measure()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generative.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("\n".join(table_rows(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
