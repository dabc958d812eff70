"""The character-level RNN: the plain cell is eq. (1.3.3), training, bits per character, sampling."""

import math

import pytest
import torch

from companion.charrnn import CharRNN, CharRNNConfig, bits_per_character, sample, train_charrnn
from companion.rnn import rnn_forward

V = 11


def _text(n=2000, seed=0):
    """A learnable toy text: the cycle 0, 1, ..., V-1 with a few random characters mixed in."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.arange(n) % V
    noise = torch.rand(n, generator=g) < 0.05
    return torch.where(noise, torch.randint(0, V, (n,), generator=g), ids)


def test_plain_cell_is_the_textbook_recurrence():
    torch.manual_seed(0)
    model = CharRNN(V, embed_dim=5, hidden=7, cell="rnn").double()
    x = torch.randint(0, V, (3, 6))
    logits, h = model(x)
    assert logits.shape == (3, 6, V) and h.shape == (1, 3, 7)
    rnn = model.rnn
    e = model.embed(x).transpose(0, 1)  # (T, N, D), as rnn_forward expects
    hs, ys = rnn_forward(e, torch.zeros(3, 7, dtype=torch.float64), rnn.weight_ih_l0, rnn.weight_hh_l0,
                         rnn.bias_ih_l0 + rnn.bias_hh_l0, model.readout.weight, model.readout.bias)
    torch.testing.assert_close(logits, ys.transpose(0, 1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h[0], hs[-1], rtol=1e-12, atol=1e-12)


def test_state_carries_over_between_calls():
    torch.manual_seed(0)
    model = CharRNN(V, embed_dim=4, hidden=8, cell="gru")
    x = torch.randint(0, V, (2, 10))
    whole, _ = model(x)
    first, h = model(x[:, :4])
    second, _ = model(x[:, 4:], h)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, rtol=1e-5, atol=1e-6)


def test_zero_readout_costs_log2_of_the_alphabet():
    model = CharRNN(V, embed_dim=4, hidden=8)
    with torch.no_grad():
        model.readout.weight.zero_(), model.readout.bias.zero_()
    assert bits_per_character(model, _text(500)) == pytest.approx(math.log2(V), rel=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_train_charrnn_smoke_learns_and_is_deterministic(cell):
    config = CharRNNConfig(cell=cell, embed_dim=8, hidden=32, steps=40, batch_size=4, seq_len=16, lr=1e-2)
    ids = _text()
    model, history = train_charrnn(ids, config, vocab_size=V, generator=torch.Generator().manual_seed(0),
                                   progress=False)
    again, history_again = train_charrnn(ids, config, vocab_size=V, generator=torch.Generator().manual_seed(0),
                                         progress=False)
    assert len(history["loss_bpc"]) == 40 and history == history_again
    assert not model.training and model.cell == cell
    # The toy text is almost a cycle: after 40 steps the model beats the uniform log2(11) = 3.46 bits.
    assert bits_per_character(model, _text(seed=1)) < 0.6 * math.log2(V)


def test_train_charrnn_stops_on_a_diverging_loss():
    config = CharRNNConfig(hidden=8, embed_dim=4, steps=20, batch_size=2, seq_len=8, lr=1e37, lr_final=1e37)
    with pytest.raises(FloatingPointError, match="loss became (nan|inf) at step"):
        train_charrnn(_text(), config, vocab_size=V, generator=torch.Generator().manual_seed(0), progress=False)


def test_train_charrnn_rejects_bad_input():
    with pytest.raises(TypeError, match="int64"):
        train_charrnn(_text().float(), progress=False)
    with pytest.raises(ValueError, match=r"shape \(L,\), got \(2, 1000\)"):
        train_charrnn(_text().view(2, -1), progress=False)
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        train_charrnn(_text(), vocab_size=5, progress=False)
    with pytest.raises(ValueError, match="at least"):
        train_charrnn(_text(100), CharRNNConfig(batch_size=4, seq_len=64), progress=False)
    with pytest.raises(TypeError, match="CharRNNConfig"):
        train_charrnn(_text(), V, progress=False)
    with pytest.raises(ValueError, match="cell"):
        CharRNNConfig(cell="lstm")
    with pytest.raises(ValueError, match=r"x of shape \(N, T\)"):
        CharRNN(V)(torch.zeros(5, dtype=torch.int64))


def test_vocab_size_defaults_to_the_largest_index_plus_one():
    config = CharRNNConfig(embed_dim=4, hidden=8, steps=2, batch_size=2, seq_len=8)
    model, _ = train_charrnn(_text(200) % 7, config, generator=torch.Generator().manual_seed(0), progress=False)
    assert model.vocab_size == 7


def test_sampling_is_seeded_and_cold_sampling_is_greedy():
    torch.manual_seed(0)
    model = CharRNN(V, embed_dim=4, hidden=8)
    prompt = torch.tensor([1, 2, 3])
    a = sample(model, prompt, 20, temperature=1.0, generator=torch.Generator().manual_seed(0))
    b = sample(model, prompt, 20, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert a.shape == (20,) and a.dtype == torch.int64 and torch.equal(a, b)
    cold = sample(model, prompt, 5, temperature=1e-4, generator=torch.Generator().manual_seed(1))
    greedy, ids = [], prompt.clone()
    for _ in range(5):
        logits, _ = model(ids.view(1, -1))
        greedy.append(int(logits[0, -1].argmax()))
        ids = torch.cat([ids, torch.tensor(greedy[-1:])])
    assert cold.tolist() == greedy
    with pytest.raises(ValueError, match="temperature to be a finite number > 0, got 0.0"):
        sample(model, prompt, 5, temperature=0.0)
    with pytest.raises(ValueError, match="at least one character"):
        sample(model, prompt[:0], 5)
