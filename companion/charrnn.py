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
        if self.cell not in CELLS:
            raise ValueError(f"expected cell to be one of {CELLS}, got {self.cell!r}")
        for name in ("embed_dim", "hidden", "steps", "batch_size", "seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if not (self.lr > 0 and self.lr_final > 0 and self.clip_norm > 0):
            raise ValueError(
                f"expected lr, lr_final and clip_norm > 0, got {self.lr}, {self.lr_final}, {self.clip_norm}"
            )


class CharRNN(nn.Module):
    """Embedding -> one recurrent layer (plain tanh RNN or GRU) -> linear read-out to logits."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden: int = 256, cell: str = "gru"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"expected cell to be one of {CELLS}, got {cell!r}")
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("hidden", hidden)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embed = nn.Embedding(vocab_size, embed_dim)
        recurrent = nn.RNN if cell == "rnn" else nn.GRU  # nn.RNN's default nonlinearity is tanh: eq. (1.3.3a)
        self.rnn = recurrent(embed_dim, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, vocab_size)  # eq. (1.3.3b)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x: int64 (N, T) character indices; h: (1, N, hidden) or None (zeros).

        Returns logits (N, T, vocab_size) for the next character at each position, and h (1, N, hidden).
        """
        if not isinstance(x, torch.Tensor) or x.dtype != torch.int64:
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"expected x to be an int64 tensor of character indices, got {got}")
        if x.ndim != 2:
            raise ValueError(f"expected x of shape (N, T), got {tuple(x.shape)}")
        if h is not None and (h.ndim != 3 or h.shape[:2] != (1, x.shape[0]) or h.shape[2] != self.rnn.hidden_size):
            raise ValueError(f"expected h of shape (1, {x.shape[0]}, {self.rnn.hidden_size}), got {tuple(h.shape)}")
        out, h = self.rnn(self.embed(x), h)  # (N, T, hidden), (1, N, hidden)
        return self.readout(out), h


def _check_ids(ids: torch.Tensor, vocab_size: int, name: str = "ids") -> None:
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.int64:
        raise TypeError(f"expected {name} to be an int64 tensor, got {getattr(ids, 'dtype', type(ids).__name__)}")
    if ids.ndim != 1:
        raise ValueError(f"expected {name} of shape (L,), got {tuple(ids.shape)}")
    if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"expected {name} in [0, {vocab_size}), got values in [{ids.min()}, {ids.max()}]")


def _streams(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(L,) -> (batch_size, L // batch_size): row b is the b-th contiguous piece of the text."""
    L = len(ids) // batch_size
    return ids[: L * batch_size].view(batch_size, L)


def train_charrnn(
    ids: torch.Tensor,
    vocab_size: int,
    config: CharRNNConfig | None = None,
    *,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> tuple[CharRNN, dict[str, list[float]]]:
    """Train a `CharRNN` on a text encoded as int64 indices (L,) by truncated BPTT with Adam.

    Args:
        ids: (L,) int64 character indices in [0, vocab_size), e.g. `companion.text.encode(text)`.
        vocab_size: size of the alphabet.
        config: `CharRNNConfig()` if None.
        device: where to train; the model is returned there (CPU if None).
        generator: a CPU generator for the initial weights; same seed, same model (on a given
            machine and thread count). The batches are the text's streams, in order.
        progress: show a tqdm progress bar over steps.

    Returns:
        (model, history): the model in eval mode, and "loss_bpc": the training loss of every step
        in bits per character.
    Raises:
        FloatingPointError: when the loss becomes nan or inf.
    """
    from tqdm.auto import tqdm

    config = CharRNNConfig() if config is None else config
    if not isinstance(config, CharRNNConfig):
        raise TypeError(f"expected config to be a CharRNNConfig, got {type(config).__name__}")
    _check_ids(ids, vocab_size)
    B, T = config.batch_size, config.seq_len
    if len(ids) < B * (T + 1):
        raise ValueError(f"expected at least batch_size * (seq_len + 1) = {B * (T + 1)} characters, got {len(ids)}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"expected generator to be a torch.Generator or None, got {type(generator).__name__}")
    device = torch.device("cpu") if device is None else torch.device(device)
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,))))

    with torch.random.fork_rng(devices=[]):  # the initial weights come from `generator`
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        model = CharRNN(vocab_size, config.embed_dim, config.hidden, config.cell)
    model = model.to(device)
    streams = _streams(ids, B).to(device)  # (B, L)
    L = streams.shape[1]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: dict[str, list[float]] = {"loss_bpc": []}
    h, pos = None, 0
    model.train()
    for step in tqdm(range(config.steps), desc=f"{config.cell.upper()} steps", disable=not progress):
        if pos + T + 1 > L:  # wrap around: start the streams again from a zero state
            h, pos = None, 0
        x, y = streams[:, pos : pos + T], streams[:, pos + 1 : pos + T + 1]  # (B, T) inputs and next characters
        pos += T
        cosine = 0.5 * (1 + math.cos(math.pi * step / config.steps))
        for group in optimizer.param_groups:
            group["lr"] = config.lr_final + (config.lr - config.lr_final) * cosine
        logits, h = model(x, h)  # (B, T, V)
        h = h.detach()  # truncated BPTT: the state carries over, its gradient does not
        loss = F.cross_entropy(logits.reshape(B * T, vocab_size), y.reshape(B * T))
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"char-RNN loss became {loss.item()} at step {step}; try a lower lr than {config.lr}"
            )
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        history["loss_bpc"].append(loss.item() / math.log(2))
    model.eval()
    return model, history


@torch.no_grad()
def bits_per_character(model: CharRNN, ids: torch.Tensor, num_streams: int = 16) -> float:
    """Mean −log2 p(x_{t+1} | x_<=t) over a text (L,), read as `num_streams` contiguous streams.

    Each stream starts from a zero state, so its first characters are predicted with little
    context; with thousands of characters per stream that costs little.
    """
    if not isinstance(model, CharRNN):
        raise TypeError(f"expected a CharRNN, got {type(model).__name__}")
    _check_ids(ids, model.vocab_size)
    if len(ids) < 2 * num_streams:
        raise ValueError(f"expected at least {2 * num_streams} characters for {num_streams} streams, got {len(ids)}")
    was_training = model.training
    model.eval()
    device = model.readout.weight.device
    n = (len(ids) - 1) // num_streams * num_streams
    x = ids[:n].view(num_streams, -1).to(device)  # (S, n / S)
    y = ids[1 : n + 1].view(num_streams, -1).to(device)
    logits, _ = model(x)
    nats = F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))
    model.train(was_training)
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
    if not isinstance(model, CharRNN):
        raise TypeError(f"expected a CharRNN, got {type(model).__name__}")
    _check_ids(prompt, model.vocab_size, "prompt")
    if len(prompt) < 1:
        raise ValueError("expected a prompt of at least one character")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"expected n to be an int >= 0, got {n!r}")
    if not temperature > 0:
        raise ValueError(f"expected temperature > 0, got {temperature!r}")
    was_training = model.training
    model.eval()
    device = model.readout.weight.device
    logits, h = model(prompt.view(1, -1).to(device))  # (1, P, V)
    out = torch.empty(n, dtype=torch.int64)
    for t in range(n):
        probs = torch.softmax(logits[0, -1].double().cpu() / temperature, dim=0)  # (V,)
        out[t] = torch.multinomial(probs, 1, generator=generator)[0]
        logits, h = model(out[t].view(1, 1).to(device), h)
    model.train(was_training)
    return out
