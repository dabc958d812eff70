"""Self-checks for the classroom exercises of chapter 6 (two or more per chapter 1–6).

Each ``check_*`` function takes a student's answer — a number, a dict or a function — compares
it with a reference that the tested companion code computes on fixed inputs, and

- returns a message that starts with "Success!" when the answer is right (print it), or
- raises `ExerciseError` that says what is wrong and gives a hint, never the answer.

Known wrong answers (the textbook's own slips among them) get a specific hint; anything else
gets a description of how the answer differs (shape, range, size of the error).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion import validation as check


class ExerciseError(AssertionError):
    """A self-check that failed; the message says what is wrong and ends with a hint."""


def _fail(what: str, hint: str) -> None:
    raise ExerciseError(f"Not yet: {what}\nHint: {hint}")


def _call(fn: Callable, *args, name: str):
    """Call the student's function; turn any exception into a readable failure."""
    if not callable(fn):
        _fail(f"expected a function for {name}, got {type(fn).__name__}",
              "pass the function itself (its name, without parentheses).")
    try:
        return fn(*args)
    except ExerciseError:
        raise
    except Exception as error:  # the student's code may raise anything
        _fail(f"your {name} raised {type(error).__name__}: {error}",
              "run it on the inputs in the exercise cell and read the traceback.")


def _as_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, (int, float)):
        return torch.tensor(value)
    _fail(f"{name} should return a torch.Tensor, got {type(value).__name__}",
          "build the result with torch operations on the input tensors.")


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), atol=atol, rtol=rtol)


def _compare(got, expected: torch.Tensor, name: str, known_mistakes: list[tuple[torch.Tensor, str]] = (),
             atol: float = 1e-6, rtol: float = 1e-5, hint: str = "compare your code with the equation, term by term."):
    """Fail unless ``got`` matches ``expected``; name the mistake when it matches a known wrong answer."""
    got = _as_tensor(got, name)
    if not got.is_floating_point() and expected.is_floating_point():
        got = got.double()
    for wrong, mistake_hint in known_mistakes:
        if _close(got, wrong, atol, rtol) and not _close(got, expected, atol, rtol):
            _fail(f"{name} gives a result that a common mistake gives.", mistake_hint)
    if got.shape != expected.shape:
        _fail(f"{name} returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
              "check which dimensions your result keeps; the exercise states the expected shape.")
    if not torch.isfinite(got.double()).all():
        _fail(f"{name} returned nan or inf", "look for log(0), exp of a large number or a division by zero.")
    if not _close(got, expected, atol, rtol):
        error = (got.double() - expected.double()).abs().max().item()
        _fail(f"{name} is off by up to {error:.3g} (tolerance {atol:g} + {rtol:g}·|value|)", hint)


def _int_answer(answer, name: str) -> int:
    if isinstance(answer, bool) or not isinstance(answer, int):
        if isinstance(answer, float) and answer.is_integer():
            return int(answer)
        _fail(f"{name} should be a whole number, got {answer!r}", "the answer is a count: an int.")
    return answer


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- chapter 1 · §1.1 background

def check_neuron(neuron: Callable) -> str:
    """Exercise 1.1-1: ``neuron(x, w, b)`` = σ(x·w + b), the logistic neuron, for x (N, D), w (D,), b a float."""
    from companion.backprop import MLP

    g = _generator(1)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    w = torch.randn(4, generator=g, dtype=torch.float64)
    b = 0.7
    layer = MLP([4, 1], dtype=torch.float64)  # one linear layer: x @ W.T + b
    layer.weights[0], layer.biases[0] = w[None, :].clone(), torch.tensor([b], dtype=torch.float64)
    expected = torch.sigmoid(layer.forward(x)[:, 0])  # (N,)
    got = _call(neuron, x.clone(), w.clone(), b, name="neuron")
    mistakes = [
        (torch.sigmoid(x @ w), "the bias b is missing: the neuron adds b to the weighted sum before squashing."),
        (x @ w + b, "the output is not squashed: apply the logistic function σ(s) = 1 / (1 + e^(-s))."),
        (torch.tanh(x @ w + b), "tanh squashes into (-1, 1); the logistic neuron uses σ, which squashes into (0, 1)."),
        ((x @ w + b > 0).double(), "that is the perceptron's step; this exercise asks for the smooth logistic σ."),
    ]
    if isinstance(got, torch.Tensor) and got.shape == (6, 1):
        _fail("neuron returned shape (6, 1), expected (6,)", "x @ w with w of shape (D,) already gives (N,).")
    _compare(got, expected, "neuron", mistakes)
    return "Success! Your neuron computes σ(x·w + b) for a whole batch at once."


def check_nearest_neighbour(classify: Callable) -> str:
    """Exercise 1.1-2: ``classify(train_x, train_y, test_x)`` -> predicted labels (M,) of the
    1-nearest-neighbour rule (Euclidean distance between the flattened images)."""
    from companion.data import load_digits
    from companion.metrics import nearest_neighbour_distances

    train_x, train_y = load_digits("train")
    test_x, test_y = load_digits("test")
    _, index = nearest_neighbour_distances(test_x, train_x)
    expected = train_y[index]  # (M,)
    got = _as_tensor(_call(classify, train_x.clone(), train_y.clone(), test_x.clone(), name="classify"),
                     "classify")
    if got.shape != expected.shape:
        _fail(f"classify returned shape {tuple(got.shape)}, expected ({len(test_x)},): one label per test image",
              "take the label of the closest training image for each test image.")
    if got.is_floating_point():
        _fail(f"classify returned {got.dtype}, expected integer class labels",
              "labels are integers 0–9; index train_y with the position of the nearest image.")
    got = got.long()
    if torch.equal(got, index):
        _fail("classify returns positions in the training set, not labels",
              "you found the nearest images; now look up their labels in train_y.")
    agreement = (got == expected).double().mean().item()
    if agreement < 0.99:
        accuracy = (got == test_y).double().mean().item()
        hint = ("you may be taking the farthest image (argmax) instead of the nearest (argmin)."
                if accuracy < 0.5 else
                "compare Euclidean distances between flattened images, (N, 64), and take the smallest.")
        _fail(f"classify agrees with the 1-NN rule on {agreement:.0%} of the test digits "
              f"(its accuracy is {accuracy:.1%})", hint)
    accuracy = (got == test_y).double().mean().item()
    return (f"Success! Your 1-nearest-neighbour classifier is right on {accuracy:.1%} of the "
            f"{len(test_y)} test digits, with no training at all.")


def check_smoothed_probabilities(smoothed_probabilities: Callable) -> str:
    """Exercise 1.1-3: ``smoothed_probabilities(images, alpha)`` -> the (C, H, W) probabilities p of the
    independent-pixel model that minimise its cross-entropy on ``images`` (N, C, H, W) together with
    ``alpha`` fully inked and ``alpha`` blank pseudo-images,
    L_α(p) = −Σ_i [(α + Σ_n x_ni) log p_i + (α + Σ_n (1 − x_ni)) log(1 − p_i)],
    derived by setting ∂L_α/∂p_i to zero."""
    from companion.data import load_digits

    images, _ = load_digits("train")
    images = images[:400].double()  # a fixed subset: the answer must follow the data it is given
    N, inked = len(images), images.sum(dim=0)  # (C, H, W): the ink each pixel received over the N images
    for alpha in (0.5, 3.0):
        expected = (inked + alpha) / (N + 2 * alpha)  # the minimiser of L_α
        got = _as_tensor(_call(smoothed_probabilities, images.clone(), alpha, name="smoothed_probabilities"),
                         "smoothed_probabilities")
        if got.shape != expected.shape:
            hint = ("one probability per image is not the model: each PIXEL gets its own p_i, the same for every "
                    "image." if got.shape == (N,) else
                    "one p for the whole image ignores that the border is blank and the centre inked: each pixel "
                    "i has its own p_i." if got.numel() == 1 else
                    "return one probability per pixel position, shaped like one image.")
            _fail(f"smoothed_probabilities returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}", hint)
        mistakes = [
            (inked / N, "α does not appear in your answer: the pseudo-images are part of L_α, so they move the "
                        "minimiser."),
            ((inked + alpha) / (N + alpha), "the α blank pseudo-images count too: they add to the pixels' total "
                                            "without adding ink."),
            (inked / (N + 2 * alpha), "the α inked pseudo-images add ink to every pixel, not only images."),
            ((inked + alpha - 1) / (N + 2 * alpha - 2), "that is the mode of a Beta(α, α) posterior, a different "
                                                        "objective; differentiate L_α as it is written."),
            (images.median(dim=0).values, "the median minimises an absolute error, not this cross-entropy: "
                                          "differentiate L_α itself."),
        ]
        _compare(got, expected, "smoothed_probabilities", mistakes, atol=1e-6, rtol=0.0,
                 hint="collect the terms of L_α that contain p_i, differentiate in p_i, set to zero and solve.")
    return ("Success! Your p minimises L_α for every α tried. A pixel that no training image inks now gets a "
            "probability above 0, so no test digit costs −log 0 = ∞ nats there (companion.vae.pixel_means "
            "clamps p to [0.001, 0.999] for the same reason).")


def check_bernoulli_total(total) -> str:
    """Exercise 1.1-4: the sum of the Bernoulli expression p^x (1 − p)^(1 − x) over the 17 grey levels
    x = k/16, k = 0, …, 16, of one pixel with p = 0.3: whether the VAE's score is a probability."""
    p, levels = 0.3, [k / 16 for k in range(17)]

    def bernoulli(x: float, q: float = p) -> float:
        return q**x * (1 - q) ** (1 - x)

    expected = math.fsum(bernoulli(x) for x in levels)
    return check_number(
        total, expected, rtol=1e-3,
        mistakes=[
            (1.0, "that is the sum over a binary pixel, x = 0 and x = 1 only; the grey pixel takes 17 values "
                  "k/16, k = 0, 1, …, 16."),
            (expected / len(levels), "you averaged the 17 values; the question is whether they add up to 1."),
            (math.fsum(bernoulli(x) for x in levels[:-1]), "k runs from 0 to 16: 17 grey levels, both ends included."),
            (math.fsum(bernoulli(x) for x in levels[1:]), "k runs from 0 to 16: 17 grey levels, both ends included."),
            (math.fsum(bernoulli(x, 0.5) for x in levels), "the pixel's probability is p = 0.3, not 0.5."),
            (math.fsum(p**x for x in levels), "the factor (1 − p)^(1 − x) is missing."),
        ],
        hint="evaluate p**x * (1 - p)**(1 - x) at x = 0/16, 1/16, …, 16/16 and add the 17 values.",
        explanation="The values do not add up to 1: over grey levels the Bernoulli expression is no probability "
                    "distribution. So a −ELBO built on it is neither −log p(x) of a grey digit nor a bound on it; "
                    "it is a score for comparing models that use the same expression on the same pixels.",
        what="total")


HISTORY_STATEMENTS = {
    "a": "The 1943 paper is mathematical neuroscience, a logic of idealised nerve cells; the term artificial "
         "intelligence was coined only in 1955, in the proposal for the Dartmouth workshop.",
    "b": "Adaptive filters that learn by the LMS rule, in effect single adaptive linear neurons, were deployed at "
         "scale in data modems (1970s) and telephone echo cancellers (around 1980), before the 1990s.",
    "c": "Neural generative models are older: the Boltzmann machine (1985) learns a probability distribution and "
         "draws samples from it, and deep belief nets (2006) drew images of handwritten digits.",
    "d": "No music data ship with the packages this book installs, and none of its models is trained on music; "
         "the applications table of §1.1 says where the book shows nothing.",
    "e": "The VAE (2013) and the GAN (2014) came after both markers, deep belief nets (2006) and AlexNet (2012).",
}
"""Exercise 1.1-6's statements (the task lists them) and the feedback each one gets."""


def check_history(answer) -> str:
    """Exercise 1.1-6 (concept): the keys of every true statement about §1.1's history and applications."""
    return check_choice(answer, HISTORY_STATEMENTS, {"b", "e"}, what="answer")


# ---------------------------------------------------------------- chapter 2 · §1.2 core concepts

def check_parameter_count(count_parameters: Callable) -> str:
    """Exercise 1.2-1: ``count_parameters(sizes)`` -> the number of weights and biases of a fully
    connected network with layer widths ``sizes`` (input first)."""
    from companion.backprop import MLP

    for sizes in ([64, 32, 10], [2, 3], [784, 512, 256, 10], [5, 1, 5, 1]):
        model = MLP(sizes)
        expected = sum(w.numel() for w in model.weights) + sum(b.numel() for b in model.biases)
        got = _int_answer(_call(count_parameters, list(sizes), name="count_parameters"), "count_parameters")
        if got != expected:
            weights_only = sum(w.numel() for w in model.weights)
            if got == weights_only:
                hint = "the biases are missing: each layer has one bias per output unit."
            elif got == sum(sizes):
                hint = "that counts neurons; count connections: a layer n_in -> n_out has n_in·n_out weights."
            else:
                hint = "a layer n_in -> n_out has a weight matrix (n_out, n_in) and a bias vector (n_out,)."
            _fail(f"count_parameters({sizes}) returned {got}, which is not the number of parameters", hint)
    return "Success! Your count matches the parameters of companion.backprop.MLP for four networks."


def check_conv_output_size(output_size: Callable) -> str:
    """Exercise 1.2-2: ``output_size(n, kernel_size, stride, padding, dilation)`` -> the side of a
    convolution's output, which `companion.conv.conv_output_size` computes."""
    from companion.conv import conv_output_size

    cases = [(28, 3, 1, 1, 1), (28, 3, 1, 0, 1), (32, 5, 2, 2, 1), (8, 3, 2, 0, 1), (10, 3, 1, 0, 2),
             (64, 4, 2, 1, 1), (7, 7, 1, 0, 1), (13, 3, 2, 1, 3)]
    got = [_int_answer(_call(output_size, *case, name="output_size"), "output_size") for case in cases]
    expected = [conv_output_size(*case) for case in cases]
    if got == expected:
        return f"Success! Your formula agrees with companion.conv.conv_output_size on {len(cases)} cases."
    # Which common slip explains every answer?
    slips = [
        (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s, "count the first position too: the formula ends "
                                                                   "with + 1."),
        (lambda n, k, s, p, d: (n + 2 * p - (k - 1) - 1) // s + 1, "dilation d spreads the kernel: it covers "
                                                                   "d·(k − 1) + 1 pixels."),
        (lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1, "padding is added on both sides: 2·padding."),
        (lambda n, k, s, p, d: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1,
         "a window that would run past the edge is dropped: round down (floor), not up."),
    ]
    hint = "start from the extent d·(k − 1) + 1 of the kernel and count how many strides fit."
    for slip, slip_hint in slips:
        if got == [slip(*case) for case in cases]:
            hint = slip_hint
            break
    first = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
    n, k, s, p, d = cases[first]
    _fail(f"output_size(n={n}, kernel_size={k}, stride={s}, padding={p}, dilation={d}) returned {got[first]}", hint)


def check_sine_recurrence(coefficients: Callable) -> str:
    """Exercise 1.2-3 (§1.2.4): ``coefficients(omega)`` -> (a, b) such that every sine wave
    x_t = sin(ω t + φ) obeys x_{t+1} = a·x_t + b·x_{t−1} exactly, whatever its phase φ.

    The check runs the student's recurrence on waves of several frequencies and phases; the
    right (a, b) reproduce them to rounding, and no other pair does for more than one phase.
    """
    g = _generator(2)
    omegas = [0.1, 2 * math.pi / 25, 0.9, 1.7, 2.8]
    phases = torch.rand(16, generator=g, dtype=torch.float64) * 2 * math.pi
    t = torch.arange(40, dtype=torch.float64)[:, None]
    worst = 0.0
    for omega in omegas:
        answer = _call(coefficients, omega, name="coefficients")
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            _fail(f"coefficients({omega:.3f}) returned {answer!r}, expected a pair (a, b)",
                  "return two numbers: the weight of x_t and the weight of x_(t-1).")
        a, b = (_number_or_fail(value, f"coefficients({omega:.3f})") for value in answer)
        wave = torch.sin(omega * t + phases)  # (T, phases)
        predicted = a * wave[1:-1] + b * wave[:-2]  # x_{t+1} from x_t and x_{t-1}
        error = (predicted - wave[2:]).abs().max().item()
        worst = max(worst, error)
        if error > 1e-6:  # float32 arithmetic in the answer is fine
            c = math.cos(omega)
            if abs(a - c) < 1e-6 and abs(b) < 1e-6:
                hint = ("a·x_t alone is the best memoryless guess of §1.2.4, right only on average; "
                        "the exact rule needs x_(t-1) as well.")
            else:
                hint = ("write θ = ω t + φ and expand sin(θ + ω) and sin(θ − ω) with the addition formula: "
                        "which combination of the two is free of cos θ?")
            _fail(f"with ω = {omega:.3f} your recurrence misses the wave by up to {error:.3g}", hint)
    return (f"Success! Your recurrence continues sine waves of {len(omegas)} frequencies and "
            f"{len(phases)} phases each, to within 1e-6: two remembered values determine the whole wave.")


def _number_or_fail(value, where: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    elif isinstance(value, (np.generic, np.ndarray)) and np.size(value) == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(f"{where} holds {value!r}, expected finite numbers", "a and b are plain numbers that depend on ω.")
    return float(value)


def _choice_without_answer(answer, options: Mapping[str, str], correct: Collection[str], explanation: str) -> str:
    """`check_choice`, but a right answer gets ``explanation`` instead of the right options' feedback.

    The verdict is stored in the reader's edition under the collapsed solution: it must explain without
    saying which options hold.
    """
    check_choice(answer, options, correct, what="your selection")
    return f"Success! {explanation}"


def check_pooling_and_shifts(answer) -> str:
    """Exercise 1.2-4 (§1.2.3): which statements about shifting the input of a digit CNN hold?
    ``answer`` is a list of option keys ("select all that apply")."""
    options = {
        "a": "A convolution applies one kernel at every position, so shifting the input shifts its feature "
             "maps by the same amount, away from the border (equivariance, measured in §1.2.3).",
        "b": "Weight sharing stops at the fully connected layers, which hold a weight for every position; "
             "§1.2.3 measured what a 2-pixel shift does to the test accuracy.",
        "c": "On a large image whose content lies away from the border it would; but the 8×8 digits touch the "
             "border, and a shift pushes ink out of the frame. §1.2.3 printed how much ink a one-pixel shift "
             "keeps and how much the conv1 averages change.",
        "d": "Look at the robustness measurement of §1.2.3: what did a rotation by 90° do to the accuracy?",
        "e": "Compare the relative change after 4×4 max pooling in the photo experiment of §1.2.3 with zero.",
    }
    explanation = ("Only the convolution itself is exactly shift-equivariant, and only away from the border. "
                   "Pooling, averages and the fully connected layers are at best roughly shift-invariant, on "
                   "8×8 digits the border is never far, and rotation gets no protection at all: §1.2.3 "
                   "measured each of these.")
    return _choice_without_answer(answer, options, {"a"}, explanation)


def check_conv_parameters(conv_parameters: Callable) -> str:
    """Exercise 1.2-6 (§1.2.3): ``conv_parameters(in_channels, out_channels, kernel_size)`` -> the number
    of weights and biases of a convolution layer with square kernels, as `torch.nn.Conv2d` holds them."""
    cases = [(1, 32, 3), (32, 64, 3), (3, 16, 5), (64, 128, 1), (8, 8, 7)]
    for c_in, c_out, k in cases:
        expected = sum(p.numel() for p in nn.Conv2d(c_in, c_out, k).parameters())
        got = _int_answer(_call(conv_parameters, c_in, c_out, k, name="conv_parameters"), "conv_parameters")
        if got != expected:
            if got == c_out * c_in * k * k:
                hint = "the biases are missing: each output channel has one bias."
            elif got in (c_out * k * k + c_out, c_out * k * k):
                hint = "a kernel looks at every input channel: it has one k×k slice of weights per input channel."
            elif got == c_in * k * k + c_in:
                hint = "there is one kernel, and one bias, per output channel."
            else:
                hint = "count one kernel first (its weights span all input channels), then multiply by the kernels."
            _fail(f"conv_parameters({c_in}, {c_out}, {k}) returned {got}, which is not the number of parameters",
                  hint)
    return (f"Success! Your count matches torch.nn.Conv2d on {len(cases)} layers; it does not depend on the "
            "image size, which is why a convolution layer stays small on large images.")


def check_generative_roles(answer) -> str:
    """Exercise 1.2-7 (§1.2.5–§1.2.6, concept): the keys of every true statement about the parts of a GAN
    and a VAE, e.g. ``["a", "c"]``."""
    options = {
        "a": "The generator never sees a real point: it learns only through D's judgement of its samples, "
             "by following the gradient of its loss through D.",
        "b": "In D's step the generated samples carry the label 0: D learns to rate them as generated. "
             "Look at D's loss in §1.2.5.",
        "c": "Look at q(z | x) in §1.2.6: what does the encoder output for one image, and where is z drawn?",
        "d": "The decoder maps a code to pixel probabilities; after training, codes drawn from N(0, I) "
             "decode to new digits.",
        "e": "The KL term pulls every q(z | x) towards N(0, I), so that the codes of all images together lie "
             "where samples of N(0, I) fall (§1.2.6 compared the spread of the codes with and without it).",
    }
    explanation = ("G and D are trained against each other on one objective, G only through D; the encoder gives "
                   "each image a distribution over codes, the decoder turns codes into images, and the KL term "
                   "keeps the codes where the prior's samples land, so that sampling the prior generates.")
    return _choice_without_answer(answer, options, {"a", "d", "e"}, explanation)


# ---------------------------------------------------------------- chapter 3 · §1.3 algorithms

def check_cross_correlation(correlate: Callable) -> str:
    """Exercise 1.3-2: ``correlate(x, k)`` -> y(i, j) = Σ_p Σ_q x(i+p, j+q)·k(p, q), the
    formula of §1.3.2, for x (H, W) and k (P, Q); output (H−P+1, W−Q+1)."""
    from companion.conv import cross_correlate2d

    g = _generator(3)
    x = torch.randn(7, 6, generator=g, dtype=torch.float64)
    k = torch.randn(3, 2, generator=g, dtype=torch.float64)
    expected = cross_correlate2d(x, k)
    got = _call(correlate, x.clone(), k.clone(), name="correlate")
    mistakes = [
        (cross_correlate2d(x, k.flip(0, 1)),
         "you flipped the kernel: that is convolution in the mathematical sense. The book's formula, like "
         "every deep-learning library, does not flip (it is cross-correlation)."),
        (cross_correlate2d(x, k.T.contiguous()) if k.shape[0] == k.shape[1] else torch.empty(0),
         "p runs over the rows of k and q over its columns; you transposed the kernel."),
    ]
    got_t = _as_tensor(got, "correlate")
    if got_t.shape != expected.shape:
        _fail(f"correlate returned shape {tuple(got_t.shape)}, expected {tuple(expected.shape)} for x (7, 6), k (3, 2)",
              "without padding the kernel fits H − P + 1 times down and W − Q + 1 times across.")
    _compare(got_t, expected, "correlate", mistakes, atol=1e-10, rtol=1e-10)
    return "Success! Your loops compute equation (1.3.2), exactly what companion.conv.cross_correlate2d computes."


def check_rnn_step(step: Callable) -> str:
    """Exercise 1.3-3: ``step(x_t, h_prev, W_xh, W_hh, b_h)`` -> h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h)
    for row vectors: x_t (N, D), h_prev (N, H), W_xh (H, D), W_hh (H, H), b_h (H,)."""
    from companion.rnn import rnn_forward

    g = _generator(4)
    N, D, H = 3, 4, 5
    x = torch.randn(1, N, D, generator=g, dtype=torch.float64)
    h0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    W_xh = torch.randn(H, D, generator=g, dtype=torch.float64)
    W_hh = torch.randn(H, H, generator=g, dtype=torch.float64)
    b_h = torch.randn(H, generator=g, dtype=torch.float64)
    W_hy, b_y = torch.zeros(2, H, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    expected = rnn_forward(x, h0, W_xh, W_hh, b_h, W_hy, b_y)[0][0]  # (N, H)
    got = _call(step, x[0].clone(), h0.clone(), W_xh.clone(), W_hh.clone(), b_h.clone(), name="step")
    mistakes = [
        (h0 @ W_hh.T + x[0] @ W_xh.T + b_h, "the nonlinearity is missing: the new state is tanh(...)."),
        (torch.tanh(h0 @ W_hh + x[0] @ W_xh.T + b_h),
         "W_hh multiplies h as a column vector: with rows, that is h_prev @ W_hh.T."),
        (torch.tanh(x[0] @ W_xh.T + b_h), "the previous state is missing: the recurrence is what gives memory."),
        (torch.sigmoid(h0 @ W_hh.T + x[0] @ W_xh.T + b_h), "the book's RNN uses tanh, not the logistic σ."),
    ]
    _compare(got, expected, "step", mistakes, atol=1e-10, rtol=1e-10)
    return "Success! Your step is equation (1.3.3a): it matches one step of companion.rnn.rnn_forward."


def check_gaussian_kl(kl: Callable) -> str:
    """Exercise 1.3-6: ``kl(mu, logvar)`` -> KL(N(mu, diag(exp(logvar))) ‖ N(0, I)), (N,), summed over
    the latent dimensions: the term that §1.3.5 leaves out of the VAE's objective."""
    from companion.vae import gaussian_kl

    g = _generator(5)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64)
    expected = gaussian_kl(mu, logvar)
    term = 1 + logvar - mu**2 - logvar.exp()
    mistakes = [
        (0.5 * term.sum(1), "the sign: a KL divergence is never negative; −KL = ½ Σ (1 + log σ² − μ² − σ²)."),
        (-term.sum(1), "the factor ½ is missing."),
        (-0.5 * (1 + 2 * logvar - mu**2 - logvar.exp() ** 2).sum(1),
         "you treated logvar as log σ; it is log σ², so σ² = exp(logvar)."),
        (-0.5 * term.mean(1), "sum over the latent dimensions, do not average."),
        (-0.5 * term, "return one number per row: sum over the latent dimensions (dim 1)."),
    ]
    _compare(_call(kl, mu.clone(), logvar.clone(), name="kl"), expected, "kl", mistakes, atol=1e-10, rtol=1e-10)
    return "Success! Your KL is the closed form of Kingma & Welling's appendix B, as in companion.vae.gaussian_kl."


def check_optimal_discriminator(d_star: Callable) -> str:
    """Exercise 1.3-5: ``d_star(p_data, p_model)`` -> the discriminator that maximises the GAN's
    value V(D, G) pointwise (Goodfellow et al. 2014, Proposition 1), for positive densities."""
    from companion.gan import optimal_discriminator

    g = _generator(6)
    p_data = torch.rand(10, generator=g, dtype=torch.float64) + 0.05
    p_model = torch.rand(10, generator=g, dtype=torch.float64) + 0.05
    expected = optimal_discriminator(p_data, p_model)
    mistakes = [
        (p_model / (p_data + p_model), "D is the probability that x is REAL: the data density goes on top."),
        (p_data / p_model, "a probability must stay in [0, 1]: normalise by the total density."),
        ((p_data > p_model).double(), "a hard 0/1 decision is not the maximiser; maximise "
                                      "p_data·log D + p_model·log(1 − D) over D for each x."),
    ]
    _compare(_call(d_star, p_data.clone(), p_model.clone(), name="d_star"), expected, "d_star", mistakes)
    return ("Success! Your D* maximises p_data·log D + p_model·log(1 − D) at every point, as "
            "companion.gan.optimal_discriminator does; where the two densities are equal it is ½.")


def check_mse_gradient(gradient: Callable) -> str:
    """Exercise 1.3-1: ``gradient(x, y, w)`` -> ∂L/∂w by hand for L(w) = (1/N) Σ_n (x_n·w − y_n)²,
    x (N, D), y (N,), w (D,); checked against `companion.backprop.numerical_gradient`."""
    from companion.backprop import numerical_gradient

    g = _generator(7)
    x = torch.randn(8, 3, generator=g, dtype=torch.float64)
    y = torch.randn(8, generator=g, dtype=torch.float64)
    w = torch.randn(3, generator=g, dtype=torch.float64)
    expected = numerical_gradient(lambda v: ((x @ v - y) ** 2).mean(), w.clone())
    r = x @ w - y
    mistakes = [
        (r @ x / len(y), "the factor 2 from the square's derivative is missing."),
        (2 * r @ x, "L is a mean: divide by N."),
        (-2 * r @ x / len(y), "the sign: d(x·w − y)/dw = +x."),
        (2 * (r * r) @ x / len(y), "the chain rule: d(r²)/dr = 2r, not 2r²."),
    ]
    _compare(_call(gradient, x.clone(), y.clone(), w.clone(), name="gradient"), expected, "gradient", mistakes,
             atol=1e-6, rtol=1e-6)
    return "Success! Your hand-derived gradient matches central finite differences (step 1e-6)."


GRADIENT_FLOW = {
    "a": "By (1.3.3e) each step back multiplies by diag(1 − h²)·W_hh, whose norm is at most ‖W_hh‖₂, so the "
         "bound shrinks geometrically with the number of steps.",
    "b": "clipping only ever shrinks a gradient (it rescales it when its norm exceeds the threshold); it cannot bring "
         "back a contribution that has vanished.",
    "c": "clip_grad_norm_ multiplies the whole gradient by c/‖g‖ when ‖g‖ > c, one factor for every entry, as "
         "the clipping cell of §1.3.3 measured.",
    "d": "with a linear activation the one-step Jacobian is W_hh itself, and its norm 0.5 still shrinks the gradient "
         "geometrically; tanh' ≤ 1 can only make the product smaller.",
}


def check_gradient_flow(answer) -> str:
    """Exercise 1.3-4 (concept): which statements about an RNN with ‖W_hh‖₂ = 0.5, trained on 60 steps with a loss
    on the last output, hold? ``answer`` is a list of option letters (several are right)."""
    return check_choice(answer, GRADIENT_FLOW, correct=["a", "c"], what="your list")


# ---------------------------------------------------------------- chapter 4 · §1.4 code examples

def check_flatten_size(answer) -> str:
    """Exercise 1.4-1: how many numbers enter ``fc1`` of listing 1.4.1's CNN for a (3, 28, 28) image?"""
    from companion.cnn import CNN

    model = CNN(in_channels=3, image_size=28, num_classes=10)
    expected = model.fc1.in_features
    got = _int_answer(answer, "the flatten size")
    if got == expected:
        return ("Success! You followed the side through both poolings and counted the channels of the last "
                "convolution: that is what fc1 receives, whatever the listing declares.")
    if got == 64 * 28 * 28:
        hint = "that is the textbook's 64·28·28: it forgets that each MaxPool2d(2, 2) halves the side."
    elif got == 64 * 14 * 14:
        hint = "the forward pass pools twice, once after each convolution."
    elif got in (32 * 7 * 7, 3 * 7 * 7):
        hint = "count the channels of the last convolution's output."
    else:
        hint = "follow one image through conv1 (padding 1 keeps the side), pool, conv2, pool, then flatten."
    _fail(f"{got} is not the number of inputs of fc1", hint)


def check_discriminator_loss(loss_fn: Callable) -> str:
    """Exercise 1.4-2: ``loss_fn(real_logits, fake_logits)`` -> the discriminator's loss, the mean
    over real images of −log D(x) plus the mean over fakes of −log(1 − D(G(z))), where D = σ(logit);
    it must stay finite for logits as large as ±100."""
    from companion.gan import discriminator_loss

    g = _generator(8)
    real = torch.randn(16, generator=g, dtype=torch.float64) * 3
    fake = torch.randn(16, generator=g, dtype=torch.float64) * 3
    real[0], fake[0] = 100.0, -100.0  # a confident, correct discriminator
    real[1], fake[1] = -40.0, 40.0  # a confident, wrong one: the loss is large but finite
    bce = F.binary_cross_entropy_with_logits
    expected = discriminator_loss(real, fake)
    got = _as_tensor(_call(loss_fn, real.clone(), fake.clone(), name="loss_fn"), "loss_fn")
    if got.numel() == 1:
        got = got.reshape(())  # a (1,) tensor is a fine scalar
    mistakes = [
        (bce(real, torch.zeros_like(real)) + bce(fake, torch.ones_like(fake)),
         "the labels are swapped: real images are labelled 1, generated ones 0."),
        (0.5 * expected, "that is half the loss: you averaged the two terms (or took one mean over all 2N "
                         "images); the loss is the sum of the two batch means."),
    ]
    if got.numel() == 1 and not torch.isfinite(got.double()).all():
        _fail("loss_fn returned nan or inf for logits of ±40 and ±100",
              "σ(100) rounds to 1 and log(1 − 1) = −inf: work on logits with "
              "F.binary_cross_entropy_with_logits (or F.logsigmoid), not sigmoid followed by log / BCELoss.")
    _compare(got, expected, "loss_fn", mistakes, atol=1e-8, rtol=1e-8)
    return "Success! Your loss equals companion.gan.discriminator_loss and stays finite for logits of ±40 and ±100."


def check_generator_loss(loss_fn: Callable) -> str:
    """Exercise 1.4-3: ``loss_fn(fake_logits)`` -> the non-saturating generator loss −mean log D(G(z))
    (Goodfellow et al. 2014, §3), computed from the discriminator's logits on generated images."""
    from companion.gan import generator_loss

    g = _generator(9)
    fake = torch.randn(16, generator=g, dtype=torch.float64) * 3
    fake[0] = -60.0  # D is sure this fake is fake: exactly where G needs a strong gradient
    bce = F.binary_cross_entropy_with_logits
    expected = generator_loss(fake)
    mistakes = [
        (bce(fake, torch.zeros_like(fake)),
         "that is the discriminator's loss on fakes (the textbook steps G with it): minimising it makes "
         "G's images easier to reject. G wants D(G(z)) → 1."),
        (-bce(fake, torch.zeros_like(fake)),
         "that is the saturating loss mean log(1 − D(G(z))) of the minimax game; its gradient vanishes when "
         "D rejects the fakes. Use −log D(G(z)) instead."),
    ]
    _compare(_call(loss_fn, fake.clone(), name="loss_fn"), expected, "loss_fn", mistakes, atol=1e-8, rtol=1e-8)
    return ("Success! Your loss equals companion.gan.generator_loss: its gradient stays large when D rejects the "
            "fakes, so G keeps learning early on.")


def check_bce_logit_gradient(gradient: Callable) -> str:
    """Exercise 1.4-4: ``gradient(logits, targets)`` -> ∂ℓ/∂z for each element, where
    ℓ = −[y log σ(z) + (1 − y) log(1 − σ(z))] is the binary cross-entropy of one logit z with target y
    (reduction "none"); compared with autograd on logits up to ±100 and targets in [0, 1], in float64."""
    g = _generator(10)
    logits = torch.randn(24, generator=g, dtype=torch.float64) * 4
    logits[:4] = torch.tensor([20.0, -20.0, 100.0, -100.0], dtype=torch.float64)  # where sigmoid rounds to 0 or 1
    targets = torch.randint(0, 2, (24,), generator=g).double()
    targets[-4:] = torch.tensor([0.25, 0.5, 0.75, 0.0625], dtype=torch.float64)  # grey levels are targets too
    z = logits.clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(z, targets, reduction="sum").backward()
    expected = z.grad.detach()
    p = torch.sigmoid(logits)
    mistakes = [
        (targets - p, "the sign is flipped: that is the gradient of the log-likelihood, and the loss is its "
                      "negative. Descending the loss must lower z when y = 0."),
        (p * (1 - p), "that is dσ/dz alone. The chain rule also needs ∂ℓ/∂σ; multiply the two and simplify."),
        ((p - targets) / len(logits), "that is the gradient of the batch mean. The exercise asks for each "
                                      "element's own loss (reduction 'none'), so no 1/N."),
    ]
    got = _call(gradient, logits.clone(), targets.clone(), name="gradient")
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.isfinite(got.double()).all():
        _fail("gradient returned nan or inf for logits of ±20 and ±100",
              "a factor σ(z)(1 − σ(z)) cancels on paper; if your code divides by it, it divides by 0 where σ "
              "rounds to 0 or 1. Simplify first, then write the simplified form.")
    _compare(got, expected, "gradient", mistakes, atol=1e-10, rtol=1e-10,
             hint="write ℓ with s = σ(z), use dσ/dz = σ(1 − σ), and simplify ∂ℓ/∂s · ds/dz before coding it.")
    return ("Success! Your gradient matches autograd for logits up to ±100, also where σ(z) rounds to exactly 0 "
            "or 1: the simplified form has nothing to divide by.")


def check_selection_bias(answer) -> str:
    """Exercise 1.4-5: five recipes are scored on the test digits and the best is reported; what is its score?"""
    options = {
        "a": "None of the 360 test digits was used to fit a weight, but all of them were used to choose: the "
             "largest of five noisy scores is, on average, above the true accuracy of the recipe it picks.",
        "b": "Choosing the best of five noisy scores favours the recipe that these 360 digits happen to flatter, "
             "so its score is optimistic (selection bias); an honest figure needs test digits that took no part "
             "in any choice, which is why §1.4.1 chooses on a validation split and scores the test split once.",
        "c": "The weights never saw the test digits, so nothing was memorised; the optimism enters through the "
             "choice between recipes, not through training.",
        "d": "One test digit is 1/360 ≈ 0.28 %, and that is the size of the differences being chosen between: "
             "the choice picks up noise of exactly that size.",
    }
    return check_choice(answer, options, "b", what="your choice")


# ---------------------------------------------------------------- chapter 5 · §1.5 trends and challenges

def _tiny_classifier() -> nn.Module:
    """A fixed small convolutional classifier for (N, 1, 8, 8) images (weights seeded, not trained)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    return model.double().eval()


def check_fgsm(attack: Callable) -> str:
    """Exercise 1.5-1: ``attack(model, images, labels, epsilon)`` -> adversarial images by the fast
    gradient sign method, eq. (1.5.5), clipped to [0, 1]."""
    from companion.data import load_digits
    from companion.robustness import fgsm

    images, labels = load_digits("test")
    images, labels = images[:12].double(), labels[:12]
    model, epsilon = _tiny_classifier(), 0.1
    expected = fgsm(model, images, labels, epsilon)
    got = _call(attack, model, images.clone(), labels.clone(), epsilon, name="attack")
    x = images.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), labels, reduction="sum"), x)
    got_t = _as_tensor(got, "attack")
    inside = (expected > 0) & (expected < 1)  # pixels that clipping did not touch
    if got_t.shape == images.shape and not torch.allclose((got_t.double() - images)[inside].abs(),
                                                          torch.full_like(images[inside], epsilon), atol=1e-9):
        if torch.allclose(got_t.double(), (images - epsilon * grad.sign()).clamp(0, 1), atol=1e-9):
            pass  # the wrong sign: named below
        else:
            _fail("some pixels moved by an amount other than ε",
                  "FGSM steps by ε·sign(gradient): every pixel moves by exactly ε, not by the raw gradient.")
    mistakes = [
        ((images - epsilon * grad.sign()).clamp(0, 1),
         "the sign of the step: you went downhill on the loss, which makes the digits easier to classify."),
        (images + epsilon * grad.sign(), "clip the result to [0, 1]: it must still be an image."),
    ]
    _compare(got_t, expected, "attack", mistakes, atol=1e-9, rtol=1e-9)
    return f"Success! Your attack moves each pixel by ε = {epsilon} uphill on the loss, like companion.robustness.fgsm."


def check_shift(shift: Callable) -> str:
    """Exercise 1.5-2: ``shift(images, dy, dx)`` -> images (N, C, H, W) translated by dy rows down and
    dx columns right, filling with 0 (the background); nothing wraps around."""
    from companion.data import load_digits
    from companion.robustness import shift_images

    images = load_digits("test")[0][:5].double()
    for dy, dx in ((1, 0), (0, -2), (-1, 3), (2, 2)):
        expected = shift_images(images, dy, dx)
        mistakes = [
            (torch.roll(images, (dy, dx), dims=(2, 3)),
             "torch.roll wraps the pixels that leave one side back in on the other; fill with zeros instead."),
            (shift_images(images, dx, dy), "dy moves rows (dim 2) and dx moves columns (dim 3); you swapped them."),
            (shift_images(images, -dy, -dx), "the direction: positive dy moves the digit down, positive dx right."),
        ]
        got = _call(shift, images.clone(), dy, dx, name="shift")
        _compare(got, expected, f"shift(images, dy={dy}, dx={dx})", mistakes, atol=1e-12, rtol=0)
    return "Success! Your shift matches companion.robustness.shift_images in four directions."


def check_shard_average(combine: Callable) -> str:
    """Exercise 1.5-3: ``combine(gradients, sizes)`` -> the mean gradient over all examples, from the
    mean gradients (each a tensor of one shape) of shards of ``sizes`` examples, as in eq. (1.5.1)."""
    g = _generator(15)
    x = torch.randn(12, 5, generator=g, dtype=torch.float64)
    y = torch.randn(12, generator=g, dtype=torch.float64)
    w = torch.randn(5, generator=g, dtype=torch.float64)

    def mean_gradient(rows: slice) -> torch.Tensor:  # of the squared error of a linear model, by autograd
        weight = w.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(((x[rows] @ weight - y[rows]) ** 2).mean(), weight)
        return grad

    for sizes in ((6, 6), (3, 9), (2, 4, 6)):
        edges = np.cumsum((0,) + sizes)
        shards = [mean_gradient(slice(a, b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        expected = mean_gradient(slice(0, 12))
        mistakes = [
            (sum(shards) / len(shards), "a plain average of the shard means weighs every shard alike; that is the "
                                        "mean over all examples only when the shards are equally large."),
            (sum(shards), "a sum of the shard means counts each shard's mean once: weigh each by its share of the "
                          "examples."),
            (sum(n * s for n, s in zip(sizes, shards, strict=True)),
             "Σ n_r · g_r is the gradient of the summed loss; the mean divides it by the number of examples."),
        ]
        got = _call(combine, [s.clone() for s in shards], list(sizes), name="combine")
        _compare(got, expected, f"combine for shards of {list(sizes)} examples", mistakes, atol=1e-10, rtol=1e-10)
    return ("Success! Your combination equals the gradient over all the examples for shards of equal and of unequal "
            "sizes. Now say in words when the plain average of DistributedDataParallel is enough.")


def check_separable_fraction(fraction: Callable) -> str:
    """Exercise 1.5-4: ``fraction(c_in, c_out, k)`` -> the weights of a depthwise-separable k×k
    convolution from c_in to c_out channels as a fraction of an ordinary one's (biases aside), eq. (1.5.2)."""
    from companion.compact import SeparableConv2d

    for c_in, c_out, k in ((32, 64, 3), (3, 16, 5), (8, 8, 1), (64, 128, 3)):
        plain = nn.Conv2d(c_in, c_out, k, bias=False).weight.numel()
        separable = SeparableConv2d(c_in, c_out, k, padding=0)
        counted = separable.depthwise.weight.numel() + separable.pointwise.weight.numel()
        expected = counted / plain
        got = _number(_call(fraction, c_in, c_out, k, name="fraction"), f"fraction({c_in}, {c_out}, {k})")
        slips = [
            (1 / k**2, "you counted only the pointwise 1×1 part; the depthwise part has k² weights per input channel."),
            (1 / c_out, "you counted only the depthwise part; the 1×1 convolution mixes c_in channels into each of "
                        "c_out."),
            (1 / expected, "that is the inverse: separable weights divided by ordinary ones, not the other way round."),
            ((k * c_in + c_in * c_out) / (k**2 * c_in * c_out), "a k×k depthwise filter has k² weights, not k."),
        ]
        if not math.isclose(got, expected, rel_tol=1e-9):
            for value, hint in slips:
                if math.isclose(got, value, rel_tol=1e-9):
                    _fail(f"fraction({c_in}, {c_out}, {k}) = {got:.4g} is what a common slip gives.", hint)
            _fail(f"fraction({c_in}, {c_out}, {k}) = {got:.4g} does not match the weights of the layers",
                  "count the weights of each part: the depthwise k×k convolution (one filter per input channel) "
                  "and the pointwise 1×1 convolution; divide by k²·c_in·c_out.")
    return ("Success! Your fraction matches the weights of real depthwise-separable layers for four shapes of "
            "convolution. Now use it to explain the counts of §1.5.1 (2).")


def check_data_parallel_cost(answer) -> str:
    """Exercise 1.5-5 (concept): which explanations of a two-process run that is slower per step than
    one process hold? A list of option letters."""
    return check_choice(answer, {
        "a": "Every step the processes exchange all 155,530 gradients and then wait for each other: a fixed "
             "cost that halving the batch does not reduce.",
        "b": "By eq. (1.5.1) the two processes take exactly the steps that one process takes on the combined "
             "batch (the notebook checks it), so no extra steps are needed.",
        "c": "A step on 32 images costs more than half a step on 64: the fixed cost of each layer's call "
             "does not shrink with the batch, so splitting a small batch saves little compute.",
        "d": "gloo talks over this machine's loopback interface; nothing leaves the machine.",
        "e": "The two processes share two cores with the notebook's kernel and whatever else runs: they can wait "
             "for a core, and the slower one holds the other up at every all-reduce.",
    }, correct=["a", "c", "e"], what="your list")


# ---------------------------------------------------------------- chapter 6 · §1.6 FAQ

def check_negative_elbo(neg_elbo: Callable) -> str:
    """Exercise 1.6-1 (§1.6.4, what a VAE is): ``neg_elbo(x, logits, mu, logvar)`` -> −ELBO per
    image (N,) in nats, eq. (1.3.5a): the Bernoulli cross-entropy of x (N, 1, 8, 8) under the decoder's
    logits, summed over pixels, plus KL(q(z|x) ‖ N(0, I)), eq. (1.3.5b)."""
    from companion.vae import gaussian_kl

    g = _generator(10)
    x = torch.rand(4, 1, 8, 8, generator=g, dtype=torch.float64)
    logits = torch.randn(4, 1, 8, 8, generator=g, dtype=torch.float64) * 2
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = gaussian_kl(mu, logvar)
    expected = recon + kl
    mistakes = [
        (recon, "the KL term is missing: without it this is a plain autoencoder's reconstruction loss, and "
                "sampling z ~ N(0, I) would not give digits. (The textbook's §1.3.5 never mentions it.)"),
        (recon - kl, "the sign of the KL: −ELBO = reconstruction cross-entropy + KL."),
        (F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).mean(1) + kl,
         "sum the cross-entropy over the 64 pixels (a log-likelihood of the whole image), do not average."),
        (((torch.sigmoid(logits) - x) ** 2).flatten(1).sum(1) + kl,
         "the decoder is Bernoulli: its −log-likelihood is the binary cross-entropy, not the squared error."),
    ]
    _compare(_call(neg_elbo, x.clone(), logits.clone(), mu.clone(), logvar.clone(), name="neg_elbo"),
             expected, "neg_elbo", mistakes, atol=1e-9, rtol=1e-9)
    return "Success! −ELBO = reconstruction cross-entropy + KL: one objective, trained jointly (§1.6.4 corrected)."


def measure_equivariance(transform: Callable[[torch.Tensor], torch.Tensor], seed: int = 0, *,
                         kernel: torch.Tensor | None = None, stride: int = 1, pool: int = 1,
                         output_transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    """The relative error e_T of eq. (1.6.2b), ‖f(T x) − T′ f(x)‖ / ‖f(x)‖, for a layer f and an image transform T.

    f is a 3×3 convolution (padding 1, the given stride), then a max pooling over pool × pool windows when
    pool > 1; x is a random 8×8 image inside a blank 16×16 frame. 0 means that f is equivariant to T.

    Args:
        transform: T, a function of an image batch (N, C, H, W).
        seed: draws the image, and the kernel when none is given.
        kernel: a (3, 3) kernel, e.g. a symmetric one; None draws one from N(0, 1) (a general kernel).
        stride: the convolution's stride; 2 halves the side of the map.
        pool: the side of the max-pooling window after the convolution; 1 means no pooling.
        output_transform: T′, applied to the feature map; None means T itself (the map has the image's side
            only when stride and pool are 1).
    """
    from companion.conv import conv2d

    if not callable(transform):
        raise TypeError(f"expected transform to be a function of an image batch, got {check.describe(transform)}")
    if output_transform is not None and not callable(output_transform):
        raise TypeError("expected output_transform to be a function of a feature-map batch or None, got "
                        f"{check.describe(output_transform)}")
    check.integer(seed, "seed", minimum=0)
    check.positive_int(stride, "stride")
    check.positive_int(pool, "pool")
    g = _generator(seed)
    x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    x[:, :, 4:12, 4:12] = torch.rand(1, 1, 8, 8, generator=g, dtype=torch.float64)
    if kernel is None:
        weight = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    else:
        check.tensor(kernel, "kernel", ndim=2, layout="(3, 3)", floating=True, finite=True)
        if kernel.shape != (3, 3):
            raise ValueError(f"expected kernel of shape (3, 3), got {tuple(kernel.shape)}")
        weight = kernel.detach().to(torch.float64).reshape(1, 1, 3, 3)

    def layer(images):
        maps = conv2d(images, weight, stride=stride, padding=1)
        return F.max_pool2d(maps, pool) if pool > 1 else maps

    after = transform if output_transform is None else output_transform
    reference = layer(x)
    return ((layer(transform(x)) - after(reference)).norm() / reference.norm()).item()


DOWNSAMPLING_CASES = {  # (convolution stride, pooling window, shift of the input in pixels, down)
    "stride 2, shift by 1": (2, 1, 1),
    "stride 2, shift by 2": (2, 1, 2),
    "pooling, shift by 1": (1, 2, 1),
    "pooling, shift by 2": (1, 2, 2),
}
"""Exercise 1.6-2's four cases: a layer that halves the side, and a shift of its input."""


def _best_map_shift(stride: int, pool: int, shift: int, seeds: int = 10) -> tuple[float, float]:
    """For the nearest whole-pixel shifts of the map (shift / 2 rounded down and up): the smallest e_T's
    largest and mean value over `seeds` random kernels and images."""
    from companion.robustness import shift_images

    best = None
    for moved in sorted({shift // 2, -(-shift // 2)}):
        errors = [measure_equivariance(lambda t: shift_images(t, shift, 0), seed, stride=stride, pool=pool,
                                       output_transform=lambda t, moved=moved: shift_images(t, moved, 0))
                  for seed in range(seeds)]
        if best is None or max(errors) < best[0]:
            best = (max(errors), float(np.mean(errors)))
    return best


def check_downsampling_equivariance(answers: dict) -> str:
    """Exercise 1.6-2 (§1.6.2, concept): for each case of `DOWNSAMPLING_CASES`, True if some whole-pixel shift
    of the feature map makes eq. (1.6.2a) hold exactly, False if none does. Measured with
    `measure_equivariance` over 10 random kernels and images."""
    if not isinstance(answers, dict) or set(answers) != set(DOWNSAMPLING_CASES):
        _fail(f"expected a dict with the keys {sorted(DOWNSAMPLING_CASES)}, got {answers!r}",
              "answer each of the four cases with True or False.")
    measured = {case: _best_map_shift(*spec) for case, spec in DOWNSAMPLING_CASES.items()}
    for case, (stride, _, shift) in DOWNSAMPLING_CASES.items():
        if not isinstance(answers[case], bool):
            _fail(f"answers[{case!r}] should be True or False, got {answers[case]!r}", "a yes/no question.")
        if answers[case] != (measured[case][0] < 1e-9):
            layer = "the stride-2 convolution" if stride > 1 else "the convolution and its 2 × 2 pooling"
            keyword = "stride=2" if stride > 1 else "pool=2"
            _fail(f"your answer for {case!r} disagrees with the measurement",
                  f"{layer} puts out one value per 2 × 2 block of the input; ask how many blocks a shift by {shift} "
                  f"moves the input, then measure: measure_equivariance(lambda t: shift_images(t, {shift}, 0), "
                  f"{keyword}, output_transform=lambda t: shift_images(t, k, 0)) for the shifts k of the map "
                  "that could match.")
    one = [measured[case][1] for case in ("stride 2, shift by 1", "pooling, shift by 1")]
    return ("Success! A layer that halves the side commutes exactly only with shifts by an even number of pixels, "
            "which move its map by half as many. After a one-pixel shift the best shift of the map still leaves "
            "e_T = {:.2f} at stride 2 and {:.2f} after the pooling (mean of 10 random kernels and images): exact "
            "shift equivariance, eq. (1.6.2a), is a property of stride 1.").format(*one)


def check_game_value(value) -> str:
    """Exercise 1.6-3 (§1.6.3, derivation): the value V(D*, G) of the GAN's game, eq. (1.3.4a) at the best
    discriminator (1.3.4b), in nats, for p_data = (½, ½, 0) and p_g = (0, ½, ½) on three points a, b, c."""
    p_data = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    p_model = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    d_star = p_data / (p_data + p_model)
    # 0·log 0 = 0: a point without mass under a distribution adds nothing to its expectation
    real = torch.where(p_data > 0, p_data * torch.log(d_star), torch.zeros_like(p_data)).sum().item()
    fake = torch.where(p_model > 0, p_model * torch.log1p(-d_star), torch.zeros_like(p_model)).sum().item()
    expected = real + fake
    return check_number(
        value, expected, rtol=1e-3,
        mistakes=[
            (-math.log(4), "−log 4 is the value when p_g = p_data, where D* = ½ everywhere; here the two "
                           "distributions differ at a and c, so compute D* point by point with eq. (1.3.4b)."),
            (0.0, "0 is the value for two distributions that share no point (their JSD is log 2); these two "
                  "share the point b."),
            (expected / math.log(2), "the game is measured in nats: use the natural logarithm (math.log), "
                                     "not log base 2."),
            (real, "you kept only the first expectation of eq. (1.3.4a); V adds E_data[log D(x)] and "
                   "E_G[log(1 − D(x))]."),
        ],
        hint="D* = p_data / (p_data + p_g) at each of a, b, c; then V = Σ p_data·log D* + Σ p_g·log(1 − D*), "
             "where a point without mass contributes 0 (0·log 0 = 0).",
        explanation="D* is 1 at a, ½ at b and 0 at c: where both distributions put mass, the best discriminator "
                    "can only guess. Eq. (1.3.4c) agrees: the JSD of these two is ½·log 2, since half of the "
                    "mass is shared.",
        what="value")


VAE_STATEMENTS = {
    "a": "The encoder outputs the mean μ(x) and the variance σ²(x) of a distribution q(z | x), and a code is drawn "
         "from it; one vector per image is a plain autoencoder.",
    "b": "The KL term pulls every q(z | x) towards N(0, I), so the decoder is trained on codes where the prior "
         "draws; §1.6.4 measured how much closer its random samples come to real digits.",
    "c": "That is the textbook's §1.3.5. Both networks follow the gradient of one objective, the ELBO (1.3.5a), "
         "at every step.",
    "d": "Without the KL term each code may say more about its digit, so reconstructions improve, but the codes "
         "spread far beyond N(0, I) (§1.6.4).",
    "e": "The reparameterisation z = μ + σ·ε (ε ~ N(0, I)) makes the code a differentiable function of μ and σ, "
         "so one backward pass reaches both networks.",
}
"""Exercise 1.6-4's statements (the task lists them) and the feedback each one gets."""


def check_vae_statements(answer) -> str:
    """Exercise 1.6-4 (§1.6.4, concept): the keys of every true statement about a VAE, e.g. ``["a", "c"]``."""
    return check_choice(answer, VAE_STATEMENTS, {"b", "d", "e"}, what="answer")

MOONS_BAR = 0.97
"""Exercise 1.6-6's bar: the test accuracy at which §1.6.1 calls the two moons separated."""


def _moons() -> tuple[torch.Tensor, torch.Tensor]:
    """The half-moons of §1.6.1: 600 points (600, 2) float64 and their classes (600,); the first 400 train."""
    from sklearn.datasets import make_moons

    points, classes = make_moons(n_samples=600, noise=0.15, random_state=0)
    return torch.tensor(points, dtype=torch.float64), torch.tensor(classes)


def _moons_accuracy(points: torch.Tensor, classes: torch.Tensor, width: int) -> float:
    """Test accuracy of MLP [2, width, 2] (tanh, seed 0) trained as in §1.6.1 on the first 400 points."""
    from companion.backprop import MLP, MLPConfig, train_mlp
    from companion.metrics import accuracy

    net, _ = train_mlp(points[:400], classes[:400], MLPConfig(lr=0.5, steps=1500), progress=False,
                       model=MLP([2, width, 2], activation="tanh", seed=0, dtype=torch.float64))
    return accuracy(net, points[400:], classes[400:])


def check_moons_width(narrowest_width: Callable) -> str:
    """Exercise 1.6-6 (§1.6.1, code): ``narrowest_width(points, classes)`` -> the smallest k for which the network
    [2, k, 2] (tanh, seed 0, float64), trained as in §1.6.1 on the first 400 points, exceeds 97 % test
    accuracy on the other 200."""
    points, classes = _moons()
    got = _int_answer(_call(narrowest_width, points.clone(), classes.clone(), name="narrowest_width"),
                      "narrowest_width(points, classes)")
    if got < 1:
        _fail(f"narrowest_width returned {got}, expected a number of hidden units (at least 1)",
              "k is the width of the hidden layer, [2, k, 2].")
    scores = {}
    for width in range(1, 65):
        scores[width] = _moons_accuracy(points, classes, width)
        if scores[width] > MOONS_BAR or width >= got:
            break
    if got in scores and scores[got] <= MOONS_BAR:
        _fail(f"[2, {got}, 2] reaches only {scores[got]:.1%} test accuracy, not above {MOONS_BAR:.0%}",
              "train it on the first 400 points as §1.6.1 does (lr 0.5, 1500 steps, tanh, seed 0) and "
              "measure its accuracy on the other 200; then try wider layers.")
    if max(scores) < got:
        _fail(f"a hidden layer narrower than {got} units already exceeds {MOONS_BAR:.0%}",
              "start the search at k = 1 and stop at the first width that passes the bar.")
    below = f"[2, {got - 1}, 2] only {scores[got - 1]:.1%}" if got > 1 else "no narrower layer exists"
    return (f"Success! [2, {got}, 2] reaches {scores[got]:.1%} on the test points and {below}: "
            f"{got} tanh unit{'s' if got > 1 else ''} in one hidden layer already bend the plane enough for a "
            "straight boundary at the output. Depth is one way to learn such features, not the only one "
            "(errata row T8).")


CHECKS = {
    1: [check_neuron, check_nearest_neighbour, check_smoothed_probabilities, check_bernoulli_total, check_history],
    2: [check_parameter_count, check_conv_output_size, check_sine_recurrence, check_pooling_and_shifts,
        check_conv_parameters, check_generative_roles],
    3: [check_cross_correlation, check_rnn_step, check_gaussian_kl, check_optimal_discriminator, check_mse_gradient,
        check_gradient_flow],
    4: [check_flatten_size, check_discriminator_loss, check_generator_loss, check_bce_logit_gradient,
        check_selection_bias],
    5: [check_fgsm, check_shift, check_shard_average, check_separable_fraction, check_data_parallel_cost],
    6: [check_negative_elbo, check_downsampling_equivariance, check_game_value, check_vae_statements,
        check_moons_width],
}
"""The self-checks of each chapter's exercises, by chapter number."""


# ================================================================ generic checks for concept questions
#
# Building blocks for multiple-choice and numeric questions. A chapter's question is a small function
# above (``check_xxx(answer)``) that calls one of these with its options or its expected value, so that
# the answer lives here and not in the notebook's check cell, which a student sees.

def _check_feedback(mapping, name: str) -> dict[str, str]:
    """Validate an author's {key: text} mapping (keys and texts non-empty strings)."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"expected {name} as a dict of option -> feedback, got {type(mapping).__name__}")
    if len(mapping) < 2:
        raise ValueError(f"expected at least two {name}, got {len(mapping)}")
    for key, text in mapping.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(text, str) or not text.strip():
            raise TypeError(f"expected each of {name} as a non-empty str key with non-empty str feedback, "
                            f"got {key!r}: {text!r}")
    folded = [key.strip().casefold() for key in mapping]
    if len(set(folded)) != len(folded):
        raise ValueError(f"expected {name} whose keys differ (ignoring case), got {list(mapping)}")
    return {key.strip(): text for key, text in mapping.items()}


def check_choice(answer, options: Mapping[str, str], correct: str | Collection[str], *,
                 what: str = "your answer") -> str:
    """A multiple-choice question with feedback for every option.

    Args:
        answer: the student's choice, one option key (``"b"``), or for a question with several right
            options ("select all that apply") a list, tuple or set of keys. Keys match ignoring case.
        options: option key -> feedback. The feedback of a wrong option says why it is wrong (a hint,
            never which option is right); that of a right option explains it and follows "Success!".
        correct: the right key, or a collection of keys when several options are right.
        what: how the messages name the answer.

    Returns "Success! ..." with the feedback of the chosen option(s); raises `ExerciseError` with the
    feedback of each wrong choice otherwise.
    """
    options = _check_feedback(options, "options")
    fold = {key.casefold(): key for key in options}
    several = not isinstance(correct, str)
    right = {correct} if not several else set(correct) if isinstance(correct, Collection) else None
    if right is None or not right or not all(isinstance(key, str) for key in right):
        raise TypeError(f"expected correct as an option key or a collection of keys, got {correct!r}")
    unknown = [key for key in right if key.strip().casefold() not in fold]
    if unknown:
        raise ValueError(f"expected correct among the options {list(options)}, got {unknown}")
    right = {fold[key.strip().casefold()] for key in right}
    listing = ", ".join(repr(key) for key in options)

    if several:
        if isinstance(answer, str) or not isinstance(answer, (list, tuple, set, frozenset)):
            _fail(f"{what} should be a list of option keys (several may be right), got {answer!r}",
                  f"put every option you think is right in a list, e.g. [{next(iter(options))!r}, ...].")
        chosen_raw = list(answer)
    else:
        if not isinstance(answer, str):
            _fail(f"{what} should be one option key as a string, got {answer!r}", f"choose one of {listing}.")
        chosen_raw = [answer]
    chosen = set()
    for key in chosen_raw:
        if not isinstance(key, str) or key.strip().casefold() not in fold:
            _fail(f"{key!r} is not one of the options {listing}", "answer with the key of an option, as a string.")
        chosen.add(fold[key.strip().casefold()])
    if not chosen:
        _fail(f"{what} chooses no option", f"choose among {listing}.")

    wrong = [key for key in options if key in chosen - right]
    if wrong:
        reasons = "\n".join(f"  ({key}) {options[key]}" for key in wrong)
        _fail(f"{what} includes {', '.join(repr(key) for key in wrong)}, which is not right:\n{reasons}",
              "read the feedback above, then look again at the other options.")
    if chosen != right:
        _fail(f"every option you chose is right, but {what} misses {len(right - chosen)} more",
              "more than one option holds: check the ones you left out, one by one.")
    explanations = " ".join(options[key] for key in options if key in right)
    return f"Success! {explanations}"


def _number(answer, what: str) -> float:
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    elif isinstance(answer, np.ndarray) and answer.size == 1:
        answer = answer.item()
    elif isinstance(answer, np.generic):
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        _fail(f"{what} should be a number, got {answer!r}", "assign the number itself, not a string or a list.")
    if not math.isfinite(answer):
        _fail(f"{what} is {answer}", "look for a division by zero or a log of zero in your working.")
    return float(answer)


def check_number(answer, expected: float, *, rtol: float = 1e-3, atol: float = 0.0,
                 mistakes: Sequence[tuple[float, str]] = (), hint: str = "go through your working step by step.",
                 explanation: str = "", what: str = "your answer") -> str:
    """A question whose answer is one number, right within a tolerance, with feedback on typical slips.

    Args:
        answer: the student's number (int, float, numpy scalar, one-element tensor).
        expected: the right value; right means |answer − expected| ≤ atol + rtol·|expected|.
        rtol, atol: the tolerance, both ≥ 0, not both 0.
        mistakes: (wrong value, hint) pairs for known slips, matched with the same tolerance; the hint
            names the slip, not the answer.
        hint: the hint when no known slip explains the answer.
        explanation: said after "Success!".
        what: how the messages name the answer.

    Besides the listed slips, the check recognises a wrong sign, a factor of 2 and a power of ten
    (units), and otherwise says only whether the answer is too large or too small.
    """
    for name, value in (("expected", expected), ("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError(f"expected {name} as a finite number, got {value!r}")
    if rtol < 0 or atol < 0 or (rtol == 0 and atol == 0):
        raise ValueError(f"expected rtol, atol >= 0 and not both 0, got rtol={rtol}, atol={atol}")
    if isinstance(mistakes, (str, bytes)) or not all(
            isinstance(m, tuple) and len(m) == 2 and isinstance(m[1], str) for m in mistakes):
        raise TypeError(f"expected mistakes as (value, hint) pairs, got {mistakes!r}")
    got = _number(answer, what)

    def near(value: float) -> bool:
        return abs(got - value) <= atol + rtol * abs(value)

    if near(expected):
        return f"Success! {explanation}".rstrip()
    for value, mistake_hint in mistakes:
        if near(float(value)):
            _fail(f"{what}, {got:g}, is what a common slip gives.", mistake_hint)
    if expected != 0 and near(-expected):
        _fail(f"{what}, {got:g}, has the wrong sign.", "check the sign of each term.")
    if expected != 0:
        for factor, slip in ((2.0, "a factor of 2 too large"), (0.5, "a factor of 2 too small")):
            if near(expected * factor):
                _fail(f"{what}, {got:g}, is off by {slip}.", hint)
        if got != 0 and (got > 0) == (expected > 0):
            power = round(math.log10(got / expected))
            if power != 0 and near(expected * 10.0**power):
                _fail(f"{what}, {got:g}, is off by a factor of 10^{power}.", "check the units and the scale.")
    direction = "too large" if got > expected else "too small"
    _fail(f"{what}, {got:g}, is {direction}.", hint)
