"""A character-level language model: the recurrent network of §1.2.4/§1.3.3 writing text.

The model reads one character at a time and predicts the next (Karpathy 2015, "The Unreasonable
Effectiveness of Recurrent Neural Networks"; Graves 2013, "Generating Sequences With Recurrent
Neural Networks"). With e_t the embedding of character x_t:

    h_t = tanh(e_t W_xh^T + h_{t-1} W_hh^T + b_h)      plain RNN, eq. (1.3.3a)   (`cell="rnn"`)
    h_t = GRU(e_t, h_{t-1})                            gated (Cho et al. 2014)   (`cell="gru"`)
    y_t = h_t W_hy^T + b_y,   p(x_{t+1} | x_<=t) = softmax(y_t)             eq. (1.3.3b)

Training minimises the cross-entropy of the next character, by backpropagation through time
truncated to `seq_len` steps: the text is cut into `batch_size` contiguous streams and each step
reads the next `seq_len` characters of every stream, carrying h over (detached) from the last
step. Quality is measured in bits per character (bpc) on held-out text. Sampling draws each
character from softmax(y_t / temperature): low temperatures pick likely characters, high ones
add variety (and typos).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion import training
from companion import validation as check

CELLS = ("rnn", "gru")


@dataclass(frozen=True)
class CharRNNConfig:
    """Model size and training schedule of `train_charrnn`.

    The defaults are the recipe measured on the standard library's docstrings (notebook 04):
    a GRU with 256 hidden units, 700 steps of 32 streams × 64 characters (1.4 M characters),
    Adam with the learning rate decaying along a cosine from 8e-3 to 8e-4, gradients clipped to norm 1.
    """

    cell: str = "gru"
    embed_dim: int = 32
    hidden: int = 256
    steps: int = 700
    batch_size: int = 32
    seq_len: int = 64
    lr: float = 8e-3
    lr_final: float = 8e-4
    clip_norm: float = 1.0

    def __post_init__(self):
        check.one_of(self.cell, "cell", CELLS)
        for name in ("embed_dim", "hidden", "steps", "batch_size", "seq_len"):
            check.positive_int(getattr(self, name), name)
        for name in ("lr", "lr_final", "clip_norm"):
            check.real(getattr(self, name), name, above=0)


class CharRNN(nn.Module):
    """Embedding -> one recurrent layer (plain tanh RNN or GRU) -> linear read-out to logits."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden: int = 256, cell: str = "gru"):
        super().__init__()
        check.one_of(cell, "cell", CELLS)
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("hidden", hidden)):
            check.positive_int(value, name)
        self.vocab_size, self.cell = vocab_size, cell
        self.embed = nn.Embedding(vocab_size, embed_dim)
        recurrent = nn.RNN if cell == "rnn" else nn.GRU  # nn.RNN's default nonlinearity is tanh: eq. (1.3.3a)
        self.rnn = recurrent(embed_dim, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, vocab_size)  # eq. (1.3.3b)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x: int64 (N, T) character indices; h: (1, N, hidden) or None (zeros).

        Returns logits (N, T, vocab_size) for the next character at each position, and h (1, N, hidden).
        """
        check.tensor(x, "x", dtype=torch.int64)
        if x.ndim != 2 or 0 in x.shape:
            raise ValueError(f"expected x of shape (N, T), neither 0, got {tuple(x.shape)}")
        device = self.readout.weight.device
        if x.device != device:
            raise ValueError(f"expected x on the model's device {device}, got {x.device}")
        if x.min() < 0 or x.max() >= self.vocab_size:
            raise ValueError(f"expected x in [0, {self.vocab_size}), got values in [{int(x.min())}, {int(x.max())}]")
        if h is not None:
            check.tensor(h, "h")
            if h.ndim != 3 or h.shape[:2] != (1, x.shape[0]) or h.shape[2] != self.rnn.hidden_size:
                raise ValueError(f"expected h of shape (1, {x.shape[0]}, {self.rnn.hidden_size}), "
                                 f"got {tuple(h.shape)}")
            check.like(check.tensor(h, "h", floating=True), "h", self.readout.weight, "the model's weights")
        out, h = self.rnn(self.embed(x), h)  # (N, T, hidden), (1, N, hidden)
        return self.readout(out), h


def _check_ids(ids: torch.Tensor, vocab_size: int, name: str = "ids") -> None:
    check.tensor(ids, name, ndim=1, layout="(L,)", dtype=torch.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"expected {name} in [0, {vocab_size}), got values in [{int(ids.min())}, {int(ids.max())}]")


def _streams(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(L,) -> (batch_size, L // batch_size): row b is the b-th contiguous piece of the text."""
    L = len(ids) // batch_size
    return ids[: L * batch_size].reshape(batch_size, L)


def train_charrnn(ids: torch.Tensor, config: CharRNNConfig | None = None, *, vocab_size: int | None = None,
                  device: torch.device | str | None = None, generator: torch.Generator | None = None,
                  progress: bool = True) -> tuple[CharRNN, dict[str, list]]:
    """Train a `CharRNN` on a text encoded as int64 indices (L,) by truncated BPTT with Adam.

    Args:
        ids: (L,) int64 character indices in [0, vocab_size), e.g. `companion.text.encode(text)`.
        config: `CharRNNConfig()` if None.
        vocab_size: size of the alphabet (`len(companion.text.ALPHABET)` for that encoding); None takes
            ids.max() + 1, the smallest alphabet that the text allows.
        device: where to train; None: the text's device. The model is returned there.
        generator: a CPU generator for the initial weights; same seed, same model (on a given
            machine and thread count). The batches are the text's streams, in order.
        progress: show a tqdm progress bar over steps.

    Returns:
        (model, history): the model in eval mode, and "loss_bpc": the training loss of every step
        in bits per character.
    Raises:
        FloatingPointError: when the loss becomes nan or inf.
    """
    config = training.check_config(config, CharRNNConfig)
    check.tensor(ids, "ids", ndim=1, layout="(L,)", dtype=torch.int64, min_size=1)
    vocab_size = int(ids.max()) + 1 if vocab_size is None else check.positive_int(vocab_size, "vocab_size")
    _check_ids(ids, vocab_size)
    B, T = config.batch_size, config.seq_len
    if len(ids) < B * (T + 1):
        raise ValueError(f"expected at least batch_size * (seq_len + 1) = {B * (T + 1)} characters, got {len(ids)}")
    device = training.resolve_device(device, ids)
    generator = training.seed_generator(generator)
    check.flag(progress, "progress")

    with training.weights_from(generator, device):  # the initial weights come from `generator`
        model = CharRNN(vocab_size, config.embed_dim, config.hidden, config.cell)
    model = model.to(device)
    streams = _streams(ids, B).to(device)  # (B, L)
    L = streams.shape[1]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps, eta_min=config.lr_final)
    history: dict[str, list[float]] = {"loss_bpc": []}
    h, pos = None, 0
    model.train()
    for step in training.progress_bar(range(config.steps), f"{config.cell.upper()} steps", progress):
        if pos + T + 1 > L:  # wrap around: start the streams again from a zero state
            h, pos = None, 0
        x, y = streams[:, pos : pos + T], streams[:, pos + 1 : pos + T + 1]  # (B, T) inputs and next characters
        pos += T
        logits, h = model(x, h)  # (B, T, V)
        h = h.detach()  # truncated BPTT: the state carries over, its gradient does not
        loss = F.cross_entropy(logits.reshape(B * T, vocab_size), y.reshape(B * T))
        training.stop_if_diverged(step, f"try a lower lr than {config.lr}", loss=loss.item())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        schedule.step()
        history["loss_bpc"].append(loss.item() / math.log(2))
    model.eval()
    return model, history


@torch.no_grad()
def bits_per_character(model: CharRNN, ids: torch.Tensor, num_streams: int = 16) -> float:
    """Mean −log2 p(x_{t+1} | x_<=t) over a text (L,), read as `num_streams` contiguous streams.

    Each stream starts from a zero state, so its first characters are predicted with little
    context; with thousands of characters per stream that costs little.
    """
    check.instance(model, "model", CharRNN, "a companion.charrnn.CharRNN")
    _check_ids(ids, model.vocab_size)
    check.positive_int(num_streams, "num_streams")
    if len(ids) < 2 * num_streams:
        raise ValueError(f"expected at least {2 * num_streams} characters for {num_streams} streams, got {len(ids)}")
    device = model.readout.weight.device
    n = (len(ids) - 1) // num_streams * num_streams
    x = ids[:n].reshape(num_streams, -1).to(device)  # (S, n / S)
    y = ids[1 : n + 1].reshape(num_streams, -1).to(device)
    with training.eval_mode(model):
        logits, _ = model(x)
    nats = F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))
    return nats.item() / math.log(2)


@torch.no_grad()
def sample(
    model: CharRNN,
    prompt: torch.Tensor,
    n: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue a prompt (P,) of int64 indices by n characters drawn from softmax(y_t / temperature).

    Returns the n new indices (n,) on the CPU. generator: a CPU generator (None: torch's global one).
    """
    check.instance(model, "model", CharRNN, "a companion.charrnn.CharRNN")
    _check_ids(prompt, model.vocab_size, "prompt")
    if len(prompt) < 1:
        raise ValueError("expected a prompt of at least one character, got an empty one")
    check.integer(n, "n", minimum=0)
    temperature = check.real(temperature, "temperature", above=0)
    check.cpu_generator(generator)
    device = model.readout.weight.device
    out = torch.empty(n, dtype=torch.int64)
    with training.eval_mode(model):
        logits, h = model(prompt.reshape(1, -1).to(device))  # (1, P, V)
        for t in range(n):
            probs = torch.softmax(logits[0, -1].double().cpu() / temperature, dim=0)  # (V,)
            out[t] = torch.multinomial(probs, 1, generator=generator)[0]
            logits, h = model(out[t].view(1, 1).to(device), h)
    return out
