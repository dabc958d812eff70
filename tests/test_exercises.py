"""The classroom self-checks: a correct solution passes, typical wrong ones fail with a useful hint."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion import exercises as ex
from companion.exercises import ExerciseError


def _fails(check, answer, *fragments):
    """Assert that ``check(answer)`` fails, with a hint, and that its message names the mistake."""
    with pytest.raises(ExerciseError) as info:
        check(answer)
    message = str(info.value)
    assert message.startswith("Not yet:") and "\nHint: " in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def _passes(check, answer):
    message = check(answer)
    assert message.startswith("Success!"), message
    return message


def test_every_chapter_has_at_least_two_checks():
    assert sorted(ex.CHECKS) == [1, 2, 3, 4, 5, 6]
    assert all(len(checks) >= 2 for checks in ex.CHECKS.values())


# chapter 1

def test_neuron():
    _passes(ex.check_neuron, lambda x, w, b: torch.sigmoid(x @ w + b))
    _passes(ex.check_neuron, lambda x, w, b: 1 / (1 + torch.exp(-(x @ w) - b)))
    _passes(ex.check_neuron, lambda x, w, b: torch.sigmoid(x @ w + b).numpy())  # numpy answers are fine too
    _fails(ex.check_neuron, lambda x, w, b: torch.sigmoid(x @ w), "bias b is missing")
    _fails(ex.check_neuron, lambda x, w, b: x @ w + b, "not squashed")
    _fails(ex.check_neuron, lambda x, w, b: torch.tanh(x @ w + b), "tanh")
    _fails(ex.check_neuron, lambda x, w, b: torch.sigmoid(x @ w[:, None] + b), "shape (6, 1)")
    _fails(ex.check_neuron, lambda x, w, b: torch.sigmoid(w @ x + b), "raised RuntimeError")
    _fails(ex.check_neuron, "sigmoid", "expected a function")


def _nearest(train_x, train_y, test_x, pick=torch.argmin):
    d = torch.cdist(test_x.flatten(1), train_x.flatten(1))
    return train_y[pick(d, dim=1)]


def test_nearest_neighbour():
    message = _passes(ex.check_nearest_neighbour, _nearest)
    assert "98" in message or "99" in message  # 1-NN on these digits is right ~98-99% of the time
    _fails(ex.check_nearest_neighbour, lambda a, b, c: _nearest(a, b, c, torch.argmax), "farthest")
    _fails(ex.check_nearest_neighbour, lambda a, b, c: torch.cdist(c.flatten(1), a.flatten(1)).argmin(1),
           "positions in the training set")
    _fails(ex.check_nearest_neighbour, lambda a, b, c: _nearest(a, b, c)[:10], "one label per test image")



def _smoothed(x, alpha):
    return (x.sum(dim=0) + alpha) / (len(x) + 2 * alpha)


def test_smoothed_probabilities():
    message = _passes(ex.check_smoothed_probabilities, _smoothed)
    assert "for every α tried" in message and "N + 2" not in message and "2α" not in message  # no formula given away
    _passes(ex.check_smoothed_probabilities, lambda x, a: (x.mean(dim=0) * len(x) + a) / (len(x) + 2 * a))
    _passes(ex.check_smoothed_probabilities, lambda x, a: _smoothed(x, a).float())  # float32 is precise enough
    _fails(ex.check_smoothed_probabilities, lambda x, a: x.mean(dim=0), "α does not appear")
    _fails(ex.check_smoothed_probabilities, lambda x, a: (x.sum(dim=0) + a) / (len(x) + a), "blank pseudo-images")
    _fails(ex.check_smoothed_probabilities, lambda x, a: x.sum(dim=0) / (len(x) + 2 * a), "inked pseudo-images")
    _fails(ex.check_smoothed_probabilities, lambda x, a: (x.sum(dim=0) + a - 1) / (len(x) + 2 * a - 2), "mode")
    _fails(ex.check_smoothed_probabilities, lambda x, a: x.median(dim=0).values, "median")
    _fails(ex.check_smoothed_probabilities, lambda x, a: _smoothed(x, a).mean(), "each pixel")
    _fails(ex.check_smoothed_probabilities, lambda x, a: x.mean(dim=(1, 2, 3)), "one probability per image")
    _fails(ex.check_smoothed_probabilities, lambda x, a: _smoothed(x, a)[0], "shaped like one image")
    _fails(ex.check_smoothed_probabilities, lambda x, a: _smoothed(x, a) ** 2, "off by up to")
    _fails(ex.check_smoothed_probabilities, lambda x: x.mean(dim=0), "raised TypeError")  # alpha forgotten
    # only a minimiser of L_α passes: the derivative of L_α vanishes at the expected p and nowhere near the slips
    x = torch.rand(50, 1, 2, 2, dtype=torch.float64)
    p = _smoothed(x, 3.0).requires_grad_()
    loss = -((x.sum(0) + 3.0) * p.log() + ((1 - x).sum(0) + 3.0) * (1 - p).log()).sum()
    (grad,) = torch.autograd.grad(loss, p)
    assert grad.abs().max() < 1e-9


def test_bernoulli_total():
    p = 0.3
    total = sum(p ** (k / 16) * (1 - p) ** (1 - k / 16) for k in range(17))
    assert 8.0 < total < 8.1  # the Bernoulli expression over 17 grey levels sums to about 8, not 1
    message = _passes(ex.check_bernoulli_total, total)
    assert "no probability" in message and "8" not in message  # the number is not given away
    _passes(ex.check_bernoulli_total, torch.tensor(total))
    _fails(ex.check_bernoulli_total, 1.0, "binary pixel")
    _fails(ex.check_bernoulli_total, total / 17, "averaged")
    _fails(ex.check_bernoulli_total, total - 0.7 * (0.3 / 0.7) ** 1.0, "both ends included")
    _fails(ex.check_bernoulli_total, 8.5, "not 0.5")
    _fails(ex.check_bernoulli_total, sum(p ** (k / 16) for k in range(17)), "(1 − p)^(1 − x) is missing")
    _fails(ex.check_bernoulli_total, -total, "wrong sign")
    _fails(ex.check_bernoulli_total, 3.0, "too small")
    _fails(ex.check_bernoulli_total, "8", "should be a number")


def test_history():
    message = _passes(ex.check_history, ["b", "e"])
    assert "LMS" in message and "AlexNet" in message
    _passes(ex.check_history, ("E", "b"))
    _fails(ex.check_history, ["a", "b", "e"], "1955")
    _fails(ex.check_history, ["b", "c", "e"], "Boltzmann machine")
    _fails(ex.check_history, ["b", "d", "e"], "music")
    _fails(ex.check_history, ["b"], "misses 1 more")
    _fails(ex.check_history, "b", "list of option keys")
    for wrong in "acd":  # a wrong option's feedback never shows a right option's
        with pytest.raises(ExerciseError) as info:
            ex.check_history([wrong])
        assert ex.HISTORY_STATEMENTS["b"] not in str(info.value) and ex.HISTORY_STATEMENTS["e"] not in str(info.value)


# chapter 2

def test_parameter_count():
    _passes(ex.check_parameter_count, lambda s: sum(a * b + b for a, b in zip(s[:-1], s[1:], strict=True)))
    _fails(ex.check_parameter_count, lambda s: sum(a * b for a, b in zip(s[:-1], s[1:], strict=True)),
           "biases are missing")
    _fails(ex.check_parameter_count, lambda s: sum(s), "counts neurons")
    _fails(ex.check_parameter_count, lambda s: 1.5, "whole number")


def test_conv_output_size():
    _passes(ex.check_conv_output_size, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 1)
    _fails(ex.check_conv_output_size, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s, "+ 1")
    _fails(ex.check_conv_output_size, lambda n, k, s, p, d: (n + 2 * p - k) // s + 1, "dilation")
    _fails(ex.check_conv_output_size, lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1, "2·padding")
    _fails(ex.check_conv_output_size, lambda n, k, s, p, d: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1,
           "floor")



def test_sine_recurrence():
    message = _passes(ex.check_sine_recurrence, lambda w: (2 * math.cos(w), -1.0))
    assert "1e-6" in message
    _passes(ex.check_sine_recurrence, lambda w: (torch.tensor(2 * math.cos(w)), np.float64(-1)))  # tensors are fine
    _fails(ex.check_sine_recurrence, lambda w: (math.cos(w), 0.0), "memoryless")
    # a wrong sign of b or a wrong a: the hint points to the method, never to which coefficient is right
    for answer in (lambda w: (2 * math.cos(w), 1.0), lambda w: (math.cos(w), -1.0)):
        hint = _fails(ex.check_sine_recurrence, answer, "addition formula")
        assert "b is right" not in hint and "sign of b" not in hint
    _fails(ex.check_sine_recurrence, lambda w: (2 * math.sin(w), -0.5), "addition formula")
    _fails(ex.check_sine_recurrence, lambda w: 2 * math.cos(w), "a pair (a, b)")
    _fails(ex.check_sine_recurrence, lambda w: (float("nan"), -1.0), "finite numbers")
    _fails(ex.check_sine_recurrence, lambda w: (2 * math.cos(w), "-1"), "finite numbers")
    _fails(ex.check_sine_recurrence, lambda: (1.0, -1.0), "raised TypeError")


def test_pooling_and_shifts():
    message = _passes(ex.check_pooling_and_shifts, ["a"])
    assert "equivariant" in message and "invariant" in message
    assert "(a)" not in message and "'a'" not in message and "away from the border (equivariance" not in message
    _passes(ex.check_pooling_and_shifts, {"A"})  # any collection, keys ignore case
    _fails(ex.check_pooling_and_shifts, ["a", "b"], "'b'", "fully connected")
    _fails(ex.check_pooling_and_shifts, ["a", "c"], "'c'", "border")
    _fails(ex.check_pooling_and_shifts, ["e"], "max pooling")
    _fails(ex.check_pooling_and_shifts, "a", "list of option keys")
    _fails(ex.check_pooling_and_shifts, ["a", "z"], "not one of the options")


def test_conv_parameters():
    message = _passes(ex.check_conv_parameters, lambda c_in, c_out, k: c_out * (c_in * k * k + 1))
    assert "Conv2d" in message
    _fails(ex.check_conv_parameters, lambda c_in, c_out, k: c_out * c_in * k * k, "biases are missing")
    _fails(ex.check_conv_parameters, lambda c_in, c_out, k: c_out * (k * k + 1), "every input channel")
    _fails(ex.check_conv_parameters, lambda c_in, c_out, k: c_in * k * k + c_in, "per output channel")
    _fails(ex.check_conv_parameters, lambda c_in, c_out, k: 0, "count one kernel")
    _fails(ex.check_conv_parameters, lambda c_in, c_out, k: 1.5, "whole number")


def test_generative_roles():
    message = _passes(ex.check_generative_roles, ["a", "d", "e"])
    for key in "abcde":
        assert f"({key})" not in message and f"'{key}'" not in message
    _fails(ex.check_generative_roles, ["a", "b", "d", "e"], "'b'", "label 0")
    _fails(ex.check_generative_roles, ["a", "c", "d", "e"], "'c'", "q(z | x)")
    _fails(ex.check_generative_roles, ["a", "d"], "misses 1 more")


# chapter 3

def _correlate(x, k, flip=False):
    k = k.flip(0, 1) if flip else k
    P, Q = k.shape
    H, W = x.shape
    y = torch.zeros(H - P + 1, W - Q + 1, dtype=x.dtype)
    for i in range(H - P + 1):
        for j in range(W - Q + 1):
            y[i, j] = (x[i:i + P, j:j + Q] * k).sum()
    return y


def test_cross_correlation():
    _passes(ex.check_cross_correlation, _correlate)
    _fails(ex.check_cross_correlation, lambda x, k: _correlate(x, k, flip=True), "flipped the kernel")
    _fails(ex.check_cross_correlation, lambda x, k: F.conv2d(x[None, None], k[None, None], padding=1)[0, 0],
           "expected (5, 5)", "H − P + 1")
    _fails(ex.check_cross_correlation, lambda x, k: _correlate(x, k) * 1.01, "off by up to")


def test_rnn_step():
    _passes(ex.check_rnn_step, lambda x, h, W_xh, W_hh, b: torch.tanh(h @ W_hh.T + x @ W_xh.T + b))
    _fails(ex.check_rnn_step, lambda x, h, W_xh, W_hh, b: h @ W_hh.T + x @ W_xh.T + b, "nonlinearity is missing")
    _fails(ex.check_rnn_step, lambda x, h, W_xh, W_hh, b: torch.tanh(h @ W_hh + x @ W_xh.T + b), "h_prev @ W_hh.T")
    _fails(ex.check_rnn_step, lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + b), "previous state is missing")


def test_gaussian_kl():
    _passes(ex.check_gaussian_kl, lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv.exp()).sum(1))
    _passes(ex.check_gaussian_kl, lambda mu, lv: 0.5 * (lv.exp() + mu**2 - 1 - lv).sum(dim=-1))
    _fails(ex.check_gaussian_kl, lambda mu, lv: 0.5 * (1 + lv - mu**2 - lv.exp()).sum(1), "never negative")
    _fails(ex.check_gaussian_kl, lambda mu, lv: -(1 + lv - mu**2 - lv.exp()).sum(1), "factor ½")
    _fails(ex.check_gaussian_kl, lambda mu, lv: -0.5 * (1 + 2 * lv - mu**2 - lv.exp() ** 2).sum(1), "log σ²")
    _fails(ex.check_gaussian_kl, lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv.exp()), "one number per row")


def test_optimal_discriminator():
    _passes(ex.check_optimal_discriminator, lambda p, q: p / (p + q))
    _fails(ex.check_optimal_discriminator, lambda p, q: q / (p + q), "REAL")
    _fails(ex.check_optimal_discriminator, lambda p, q: p / q, "[0, 1]")
    _fails(ex.check_optimal_discriminator, lambda p, q: (p > q).double(), "hard 0/1")


def test_mse_gradient():
    _passes(ex.check_mse_gradient, lambda x, y, w: 2 * (x @ w - y) @ x / len(y))
    _fails(ex.check_mse_gradient, lambda x, y, w: (x @ w - y) @ x / len(y), "factor 2")
    _fails(ex.check_mse_gradient, lambda x, y, w: 2 * (x @ w - y) @ x, "divide by N")
    _fails(ex.check_mse_gradient, lambda x, y, w: -2 * (x @ w - y) @ x / len(y), "sign")


def test_gradient_flow():
    message = _passes(ex.check_gradient_flow, ["a", "c"])
    assert "(1.3.3e)" in message and "c/‖g‖" in message
    assert not any(f"({key})" in message or f"'{key}'" in message for key in "abcd")  # explains, names no option
    _passes(ex.check_gradient_flow, ("C", "a"))
    _fails(ex.check_gradient_flow, ["a"], "misses 1 more")
    _fails(ex.check_gradient_flow, ["a", "b", "c"], "'b'", "only ever shrinks")
    _fails(ex.check_gradient_flow, ["c", "d"], "'d'", "Jacobian is W_hh itself")
    message = _fails(ex.check_gradient_flow, ["b", "d"])
    assert ex.GRADIENT_FLOW["a"] not in message and ex.GRADIENT_FLOW["c"] not in message  # no answer given away
    _fails(ex.check_gradient_flow, "a", "list of option keys")
    _fails(ex.check_gradient_flow, ["e"], "not one of the options")


# chapter 4

def test_flatten_size():
    message = _passes(ex.check_flatten_size, 64 * 7 * 7)
    assert "3136" not in message and "7" not in message  # a stored verdict must not give the answer away
    _fails(ex.check_flatten_size, 64 * 28 * 28, "64·28·28", "halves")
    _fails(ex.check_flatten_size, 64 * 14 * 14, "pools twice")
    _fails(ex.check_flatten_size, 32 * 7 * 7, "channels")
    _fails(ex.check_flatten_size, "3136", "whole number")


def _naive_d_loss(real, fake):
    return -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())


def test_discriminator_loss():
    bce = F.binary_cross_entropy_with_logits
    _passes(ex.check_discriminator_loss,
            lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)))
    _passes(ex.check_discriminator_loss, lambda r, f: -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()))
    _fails(ex.check_discriminator_loss, _naive_d_loss, "nan or inf", "binary_cross_entropy_with_logits")
    _fails(ex.check_discriminator_loss,
           lambda r, f: bce(r, torch.zeros_like(r)) + bce(f, torch.ones_like(f)), "labels are swapped")
    _fails(ex.check_discriminator_loss,
           lambda r, f: bce(torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])), "2N images")
    # sigmoid + BCELoss (the textbook's choice) stays finite only because BCELoss clamps log at −100: wrong values
    _fails(ex.check_discriminator_loss, lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
           + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)), "off by up to")


def test_generator_loss():
    bce = F.binary_cross_entropy_with_logits
    _passes(ex.check_generator_loss, lambda f: bce(f, torch.ones_like(f)))
    _passes(ex.check_generator_loss, lambda f: -F.logsigmoid(f).mean())
    _fails(ex.check_generator_loss, lambda f: bce(f, torch.zeros_like(f)), "discriminator's loss", "textbook")
    _fails(ex.check_generator_loss, lambda f: -bce(f, torch.zeros_like(f)), "saturating")


def test_bce_logit_gradient():
    message = _passes(ex.check_bce_logit_gradient, lambda z, y: torch.sigmoid(z) - y)
    assert "− y" not in message and "autograd" in message  # the verdict names no formula
    _passes(ex.check_bce_logit_gradient, lambda z, y: torch.special.expit(z) - y)
    _fails(ex.check_bce_logit_gradient, lambda z, y: y - torch.sigmoid(z), "sign is flipped")
    _fails(ex.check_bce_logit_gradient, lambda z, y: torch.sigmoid(z) * (1 - torch.sigmoid(z)), "dσ/dz alone")
    _fails(ex.check_bce_logit_gradient, lambda z, y: (torch.sigmoid(z) - y) / len(z), "batch mean")

    def unsimplified(z, y):  # ∂ℓ/∂s · ds/dz, written out without cancelling: 0/0 where σ rounds to 0 or 1
        s = torch.sigmoid(z)
        return (-(y / s) + (1 - y) / (1 - s)) * s * (1 - s)

    _fails(ex.check_bce_logit_gradient, unsimplified, "nan or inf", "Simplify first")
    _fails(ex.check_bce_logit_gradient, lambda z, y: torch.sigmoid(z) - y.round(), "off by up to")
    _fails(ex.check_bce_logit_gradient, lambda z, y: 1 / 0, "ZeroDivisionError")


def test_selection_bias():
    message = _passes(ex.check_selection_bias, "b")
    assert "validation split" in message
    _passes(ex.check_selection_bias, " B ")
    _fails(ex.check_selection_bias, "a", "largest of five noisy scores")
    _fails(ex.check_selection_bias, "c", "through the choice")
    _fails(ex.check_selection_bias, "d", "0.28 %")
    _fails(ex.check_selection_bias, "e", "not one of the options")
    _fails(ex.check_selection_bias, 2, "one option key")


# chapter 5

def _fgsm(model, x, y, eps, sign=1.0, clip=True, use_sign=True):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    out = x + sign * eps * (g.sign() if use_sign else g)
    return (out.clamp(0, 1) if clip else out).detach()


def test_fgsm():
    _passes(ex.check_fgsm, _fgsm)
    _fails(ex.check_fgsm, lambda m, x, y, e: _fgsm(m, x, y, e, sign=-1.0), "downhill")
    _fails(ex.check_fgsm, lambda m, x, y, e: _fgsm(m, x, y, e, clip=False), "clip")
    _fails(ex.check_fgsm, lambda m, x, y, e: _fgsm(m, x, y, e, use_sign=False), "sign(gradient)")
    _fails(ex.check_fgsm, lambda m, x, y, e: x, "other than ε")


def _shift(images, dy, dx):
    s = 3
    padded = F.pad(images, (s, s, s, s))
    H, W = images.shape[2:]
    return padded[:, :, s - dy: s - dy + H, s - dx: s - dx + W]


def test_shift():
    _passes(ex.check_shift, _shift)
    _fails(ex.check_shift, lambda x, dy, dx: torch.roll(x, (dy, dx), dims=(2, 3)), "wraps")
    _fails(ex.check_shift, lambda x, dy, dx: _shift(x, dx, dy), "swapped")
    _fails(ex.check_shift, lambda x, dy, dx: _shift(x, -dy, -dx), "direction")


def test_shard_average():
    def weighted(gradients, sizes):
        return sum(n * g for n, g in zip(sizes, gradients, strict=True)) / sum(sizes)

    _passes(ex.check_shard_average, weighted)
    _passes(ex.check_shard_average, lambda gs, ns: torch.stack(gs).T @ torch.tensor(ns, dtype=gs[0].dtype) / sum(ns))
    _fails(ex.check_shard_average, lambda gs, ns: sum(gs) / len(gs), "equally large")
    _fails(ex.check_shard_average, lambda gs, ns: sum(gs), "share of the examples")
    _fails(ex.check_shard_average, lambda gs, ns: sum(n * g for n, g in zip(ns, gs, strict=True)), "summed loss")
    _fails(ex.check_shard_average, lambda gs, ns: gs[0], "off by up to")
    _fails(ex.check_shard_average, lambda gs, ns: gs, "should return a torch.Tensor")


def test_separable_fraction():
    _passes(ex.check_separable_fraction, lambda c_in, c_out, k: (k**2 * c_in + c_in * c_out) / (k**2 * c_in * c_out))
    _passes(ex.check_separable_fraction, lambda c_in, c_out, k: 1 / c_out + 1 / k**2)
    _fails(ex.check_separable_fraction, lambda c_in, c_out, k: 1 / k**2, "only the pointwise")
    _fails(ex.check_separable_fraction, lambda c_in, c_out, k: 1 / c_out, "only the depthwise")
    _fails(ex.check_separable_fraction, lambda c_in, c_out, k: 1 / (1 / c_out + 1 / k**2), "inverse")
    _fails(ex.check_separable_fraction, lambda c_in, c_out, k: (k * c_in + c_in * c_out) / (k**2 * c_in * c_out),
           "not k")
    _fails(ex.check_separable_fraction, lambda c_in, c_out, k: 0.5, "does not match")
    _fails(ex.check_separable_fraction, lambda c_in, c_out, k: "1/8", "should be a number")


def test_data_parallel_cost():
    message = _passes(ex.check_data_parallel_cost, ["a", "c", "e"])
    assert "all-reduce" in message
    _passes(ex.check_data_parallel_cost, ["E", "c", "A"])
    _fails(ex.check_data_parallel_cost, ["a", "b", "c", "e"], "(b)", "eq. (1.5.1)")
    _fails(ex.check_data_parallel_cost, ["a", "c"], "misses 1 more")
    _fails(ex.check_data_parallel_cost, ["d"], "loopback")
    _fails(ex.check_data_parallel_cost, "a", "list of option keys")


# chapter 6

def test_negative_elbo():
    from companion.vae import gaussian_kl

    def recon(x, logits):
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    _passes(ex.check_negative_elbo, lambda x, lg, mu, lv: recon(x, lg) + gaussian_kl(mu, lv))
    _fails(ex.check_negative_elbo, lambda x, lg, mu, lv: recon(x, lg), "KL term is missing", "autoencoder")
    _fails(ex.check_negative_elbo, lambda x, lg, mu, lv: recon(x, lg) - gaussian_kl(mu, lv), "sign of the KL")
    _fails(ex.check_negative_elbo,
           lambda x, lg, mu, lv: ((torch.sigmoid(lg) - x) ** 2).flatten(1).sum(1) + gaussian_kl(mu, lv),
           "Bernoulli")


def test_downsampling_equivariance():
    right = {"stride 2, shift by 1": False, "stride 2, shift by 2": True,
             "pooling, shift by 1": False, "pooling, shift by 2": True}
    message = _passes(ex.check_downsampling_equivariance, right)
    assert "even number of pixels" in message and "mean of 10" in message
    every_shift_passes = dict.fromkeys(right, True)
    _fails(ex.check_downsampling_equivariance, every_shift_passes, "'stride 2, shift by 1'", "stride=2",
           "output_transform")
    _fails(ex.check_downsampling_equivariance, {**right, "pooling, shift by 2": False}, "'pooling, shift by 2'",
           "pool=2")
    _fails(ex.check_downsampling_equivariance, {**right, "pooling, shift by 2": "yes"}, "True or False")
    _fails(ex.check_downsampling_equivariance, {"translation": True, "rotation": False, "scaling": False}, "keys")


def _narrowest_width(points, classes):  # the search the exercise asks for, written out independently
    from companion.backprop import MLP, MLPConfig, train_mlp

    for k in range(1, 65):
        net, _ = train_mlp(points[:400], classes[:400], MLPConfig(lr=0.5, steps=1500), progress=False,
                           model=MLP([2, k, 2], activation="tanh", seed=0, dtype=torch.float64))
        if (net.forward(points[400:]).argmax(1) == classes[400:]).double().mean().item() > 0.97:
            return k
    return None


def test_moons_width():
    message = _passes(ex.check_moons_width, _narrowest_width)
    found = _narrowest_width(*ex._moons())
    assert f"[2, {found}, 2] reaches" in message and "T8" in message
    if found > 1:
        _fails(ex.check_moons_width, lambda p, c: found - 1, f"[2, {found - 1}, 2] reaches only", "wider")
    _fails(ex.check_moons_width, lambda p, c: found + 3, "narrower than", "k = 1")
    _fails(ex.check_moons_width, lambda p, c: 0, "at least 1")
    _fails(ex.check_moons_width, lambda p, c: "2", "whole number")
    _fails(ex.check_moons_width, 2, "expected a function")


def test_game_value():
    from companion.gan import optimal_discriminator

    # the answer from eq. (1.3.4c), computed independently: -log 4 + 2·JSD, with the JSD from its definition
    p, q = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64), torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    m = (p + q) / 2
    jsd = 0.5 * sum(a * math.log(a / b) for a, b in zip(p.tolist(), m.tolist(), strict=True) if a > 0) \
        + 0.5 * sum(a * math.log(a / b) for a, b in zip(q.tolist(), m.tolist(), strict=True) if a > 0)
    value = -math.log(4) + 2 * jsd
    assert torch.equal(optimal_discriminator(p, q), torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))
    message = _passes(ex.check_game_value, value)
    assert "½·log 2" in message
    _passes(ex.check_game_value, torch.tensor(value))
    _fails(ex.check_game_value, -math.log(4), "p_g = p_data", "point by point")
    _fails(ex.check_game_value, 0.0, "share no point")
    _fails(ex.check_game_value, value / math.log(2), "natural logarithm")
    _fails(ex.check_game_value, 0.5 * value, "first expectation")
    _fails(ex.check_game_value, -value, "wrong sign")
    _fails(ex.check_game_value, -0.5, "too large", "0·log 0 = 0")
    for wrong in (-math.log(4), 0.0, -0.5):  # no failure message gives the value away
        with pytest.raises(ExerciseError) as info:
            ex.check_game_value(wrong)
        assert "0.693" not in str(info.value) and "log 2 =" not in str(info.value)
    _fails(ex.check_game_value, float("-inf"), "log of zero")
    _fails(ex.check_game_value, "-log 2", "should be a number")


def test_vae_statements():
    message = _passes(ex.check_vae_statements, ["e", "B", "d"])
    assert "KL term" in message and "reparameterisation" in message
    _fails(ex.check_vae_statements, ["b", "d"], "misses 1 more")
    _fails(ex.check_vae_statements, ["a", "b", "d", "e"], "'a'", "plain autoencoder")
    _fails(ex.check_vae_statements, ["b", "c", "d", "e"], "textbook's §1.3.5")
    _fails(ex.check_vae_statements, "b", "list of option keys")
    _fails(ex.check_vae_statements, ["f"], "not one of the options")
    wrong = _fails(ex.check_vae_statements, ["a", "c"])
    assert all(ex.VAE_STATEMENTS[key] not in wrong for key in "bde")  # the feedback never shows a true statement's


def test_measure_equivariance_separates_shifts_from_rotations():
    from companion.robustness import rotate_images, shift_images

    assert ex.measure_equivariance(lambda t: shift_images(t, 1, 1)) < 1e-12
    assert ex.measure_equivariance(lambda t: rotate_images(t, 30.0)) > 0.1
    # A quarter turn is exact on the pixel grid, yet a generic 3x3 kernel is not rotation-symmetric.
    assert ex.measure_equivariance(lambda t: torch.rot90(t, 1, (2, 3))) > 0.1


def test_measure_equivariance_of_a_symmetric_kernel_and_of_downsampling_layers():
    from companion.robustness import rotate_images, shift_images

    blur = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16  # unchanged by a quarter turn
    quarter_turn = lambda t: torch.rot90(t, 1, (2, 3))  # noqa: E731
    assert ex.measure_equivariance(quarter_turn, kernel=blur) < 1e-12
    assert 1e-3 < ex.measure_equivariance(lambda t: rotate_images(t, 30.0), kernel=blur) < 0.1  # interpolation only
    down = lambda d: (lambda t: shift_images(t, d, 0))  # noqa: E731
    for layer in ({"stride": 2}, {"pool": 2}):
        assert ex.measure_equivariance(down(2), **layer, output_transform=down(1)) < 1e-12
        assert min(ex.measure_equivariance(down(1), **layer, output_transform=down(k)) for k in (0, 1)) > 0.1
    with pytest.raises(TypeError, match="function of an image batch"):
        ex.measure_equivariance("rotate")
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        ex.measure_equivariance(quarter_turn, kernel=torch.ones(5, 5))
    with pytest.raises(TypeError, match="stride"):
        ex.measure_equivariance(quarter_turn, stride=1.5)
    with pytest.raises(ValueError, match="pool"):
        ex.measure_equivariance(quarter_turn, pool=0)


# generic checks: multiple choice and numeric answers

OPTIONS = {
    "a": "A convolution shares one kernel over all positions, so a shift of the input shifts the output.",
    "b": "Nothing in the layer knows about angles: measure it before trusting the text.",
    "c": "Scaling changes the size of every pattern, and the kernel's size stays fixed.",
}


def test_choice_single_answer():
    message = _passes(lambda a: ex.check_choice(a, OPTIONS, "a"), "a")
    assert OPTIONS["a"] in message and OPTIONS["b"] not in message
    _passes(lambda a: ex.check_choice(a, OPTIONS, "a"), " A ")  # case and spaces do not matter
    message = _fails(lambda a: ex.check_choice(a, OPTIONS, "a"), "b", "'b'", "angles")
    assert OPTIONS["a"] not in message  # the feedback of a wrong choice never shows the right option's
    _fails(lambda a: ex.check_choice(a, OPTIONS, "a"), "d", "not one of the options")
    _fails(lambda a: ex.check_choice(a, OPTIONS, "a"), 1, "one option key")
    _fails(lambda a: ex.check_choice(a, OPTIONS, "a"), ["a"], "one option key")


def test_choice_several_answers():
    check = lambda a: ex.check_choice(a, OPTIONS, {"b", "c"})  # noqa: E731
    message = _passes(check, ["c", "B"])
    assert OPTIONS["b"] in message and OPTIONS["c"] in message
    _fails(check, ["b"], "misses 1 more")
    _fails(check, ["a", "b", "c"], "'a'", "shares one kernel")
    _fails(check, "b", "list of option keys")
    _fails(check, [], "chooses no option")


def test_choice_rejects_a_malformed_question():
    with pytest.raises(ValueError, match="among the options"):
        ex.check_choice("a", OPTIONS, "z")
    with pytest.raises(TypeError, match="dict of option -> feedback"):
        ex.check_choice("a", ["a", "b"], "a")
    with pytest.raises(ValueError, match="at least two"):
        ex.check_choice("a", {"a": "only one"}, "a")
    with pytest.raises(TypeError, match="non-empty str"):
        ex.check_choice("a", {"a": "fine", "b": ""}, "a")
    with pytest.raises(ValueError, match="differ"):
        ex.check_choice("a", {"a": "one", "A": "two"}, "a")
    with pytest.raises(TypeError, match="collection of keys"):
        ex.check_choice("a", OPTIONS, 3)


def test_number():
    flatten = lambda a: ex.check_number(  # noqa: E731
        a, 3136, rtol=0, atol=0.5, mistakes=[(64 * 28 * 28, "each pooling halves the side.")],
        explanation="3136 numbers enter fc1.", hint="follow the side of the feature map layer by layer.")
    assert _passes(flatten, 3136) == "Success! 3136 numbers enter fc1."
    _passes(flatten, torch.tensor(3136.0))  # a one-element tensor or numpy scalar is a number too
    _passes(flatten, np.int64(3136))
    message = _fails(flatten, 50176, "common slip", "halves")
    assert "3136" not in message
    _fails(flatten, -3136, "wrong sign")
    _fails(flatten, 6272, "factor of 2 too large")
    _fails(flatten, 1568, "factor of 2 too small")
    _fails(flatten, 31360, "10^1", "units")
    assert "3136" not in _fails(flatten, 3000, "too small", "layer by layer")
    _fails(flatten, 4000, "too large")
    _fails(flatten, "3136", "should be a number")
    _fails(flatten, True, "should be a number")
    _fails(flatten, float("nan"), "nan")
    kl = lambda a: ex.check_number(a, 0.5 * math.log(2), rtol=1e-2)  # noqa: E731
    _passes(kl, 0.3466)
    _fails(kl, 0.36, "too large")


def test_number_rejects_a_malformed_question():
    with pytest.raises(ValueError, match="not both 0"):
        ex.check_number(1.0, 1.0, rtol=0, atol=0)
    with pytest.raises(ValueError, match="rtol, atol >= 0"):
        ex.check_number(1.0, 1.0, rtol=-1)
    with pytest.raises(TypeError, match="expected as a finite number"):
        ex.check_number(1.0, "1")
    with pytest.raises(TypeError, match="finite number"):
        ex.check_number(1.0, math.inf)
    with pytest.raises(TypeError, match="pairs"):
        ex.check_number(1.0, 1.0, mistakes=[2.0])
