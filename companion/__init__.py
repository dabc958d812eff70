"""Tested, corrected code for the companion to 神经网络系统的创意创作技术.

One module per concept, in four tiers; a module uses only the tiers above it and the plumbing.

1. From-scratch code: the chapter's formulas by hand, each tested against torch.
   `conv` (convolution, §1.3.2), `rnn` (recurrence and BPTT, §1.3.3), `backprop` (an MLP with
   hand-written gradients, §1.3.1).
2. Models and trainers: the networks of §1.2–§1.4 and how they learn.
   `cnn` (listing 1.4.1 corrected), `gan` (listing 1.4.2 corrected), `toygan` (a GAN on 2-D points),
   `vae`, `diffusion` (a denoising diffusion model, beyond the textbook), `charrnn` (a character-level
   language model), `compact` (smaller CNNs, §1.5.1), `distributed` (one CNN trained in two processes,
   §1.5.1); their data in `data` and `text`.
3. Measurements: how good a model or its samples are.
   `metrics` (accuracy, predictions, Fréchet distance, label entropy, mode coverage, memorisation,
   novelty),
   `robustness` (shifted, rotated and noisy inputs, adversarial examples, explanations).
4. Notebook support: `env` (seeding, device, environment report), `plot`, `timing`, `checks` (the
   notebooks' printed verdicts), `source` (the package's code on screen), `glossary`, `exercises`.

Plumbing: `validation` (every input check and its "expected ..., got ..." message) and `training`
(what the trainers share). Every trainer has one shape,

    train_X(data..., config=None, *, device=None, generator=None, progress=True) -> (model, history)

`train_mlp`, `train_classifier`, `train_gan`, `train_toy_gan`, `train_vae`, `train_diffusion`,
`train_charrnn`, `train_data_parallel`: the data first (one or two tensors), then an optional frozen
config dataclass (`MLPConfig`, `ClassifierConfig`, `GANConfig`, `ToyGANConfig`, `VAEConfig`,
`DiffusionConfig`, `CharRNNConfig`, `DataParallelConfig`), then keyword-only arguments: `device`
(None: the data's device), `generator` (a CPU torch.Generator, the run's only source of randomness)
and `progress` (a tqdm bar), plus a trainer's own extras. Each returns the model, in eval mode, and a
history of plain Python numbers.

The helpers every notebook needs are re-exported here.
"""

from companion.env import default_device, env_report, seed_everything

__all__ = ["default_device", "env_report", "seed_everything"]
__version__ = "0.1.0"
