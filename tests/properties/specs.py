"""Every public callable of `companion`, with valid arguments and the arguments a reader could get wrong.

`SPECS` maps a callable's qualified name to a `Spec`; `EXEMPT` maps a name to the reason it is not
tested here. `public_callables()` finds the names by introspection, and tests/properties/test_coverage.py
fails when a name is in neither table, so a new function is covered the day it is added, or the test
says that it is not.

Reasons that recur:
- PROPAGATES: a formula or a network's forward mirrors a torch operation; nan and inf propagate through
  it as IEEE arithmetic says (as in torch), and the trainers and measurements that consume its result
  refuse them.
- EMPTY_BATCH: a network's forward maps an empty batch to an empty batch of outputs, as torch modules do.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import pkgutil

import matplotlib
import torch
from torch import nn

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

import companion
from companion import (
    backprop,
    charrnn,
    checks,
    cnn,
    compact,
    conv,
    data,
    diffusion,
    distributed,
    env,
    gan,
    glossary,
    metrics,
    plot,
    rnn,
    robustness,
    source,
    text,
    timing,
    toygan,
    training,
    vae,
    validation,
)
from tests.properties.framework import Arg, Spec

PROPAGATES = "nan and inf propagate as in the torch operation it mirrors; trainers and measurements refuse them"
EMPTY_BATCH = "an empty batch gives an empty batch of outputs, as torch modules do"
LOSS_NAN = "a loss of nan logits is nan, as torch's losses; the trainers stop on it with a FloatingPointError"
EMPTY_ZERO = "two empty tensors agree vacuously: the answer is 0"
LOGITS_ANY_SHAPE = "the losses average logits of any shape, as torch's losses do"


def public_callables() -> list[str]:
    """The qualified names of the public functions, classes and methods defined in the package's modules."""
    names = []
    for info in pkgutil.iter_modules(companion.__path__):
        module = importlib.import_module(f"companion.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__ or not callable(obj):
                continue
            names.append(f"{module.__name__}.{name}")
            if inspect.isclass(obj):
                names += [f"{module.__name__}.{name}.{attr}" for attr, member in vars(obj).items()
                          if not attr.startswith("_") and inspect.isfunction(member)]
    return sorted(names)


# --- small valid inputs ------------------------------------------------------------------------------

def images(g, n=6, c=1, s=8, dtype=torch.float32):
    return torch.rand(n, c, s, s, generator=g, dtype=dtype)


def labels(g, n=6, k=10):
    return torch.randint(k, (n,), generator=g)


def gen(g):
    return torch.Generator().manual_seed(int(torch.randint(2**31, (1,), generator=g)))


def small_cnn(g):
    torch.manual_seed(int(torch.randint(2**31, (1,), generator=g)))
    return cnn.CNN(1, 8, 10).eval()


def small_mlp():
    return backprop.MLP((3, 4, 2), seed=0)


def small_vae():
    torch.manual_seed(0)
    return vae.VAE(latent_dim=2, hidden=8, image_shape=(1, 4, 4)).eval()


def small_gan():
    torch.manual_seed(0)
    return gan.GAN(gan.Generator(1, 4, latent_dim=3, width=4, min_side=2),
                   gan.Discriminator(1, 4, width=4, min_side=2)).eval()


def small_toy(g=None):
    return toygan.ToyGAN(toygan.ToyGenerator(2, 8, 2, generator=torch.Generator().manual_seed(0)),
                         toygan.ToyDiscriminator(8, 2, generator=torch.Generator().manual_seed(1))).eval()


def small_charrnn():
    torch.manual_seed(0)
    return charrnn.CharRNN(7, embed_dim=4, hidden=8, cell="gru").eval()


def seeded(make):
    """`make`, with torch's global generator seeded inside (and restored after): layers that torch initialises
    get the same weights on every call, so that a view and its contiguous copy can be compared."""
    def build(**kwargs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return make(**kwargs)
    return build


def small_separable():
    return seeded(compact.SeparableConv2d)(in_channels=2, out_channels=3).eval()


def small_compact():
    return seeded(compact.CompactCNN)(in_channels=1, image_size=8, num_classes=3, widths=(2, 3), hidden=4,
                                      separable=True).eval()


def small_schedule():
    return diffusion.NoiseSchedule(diffusion.linear_betas(4, 0.05, 0.5))


def small_predictor():
    return seeded(diffusion.NoisePredictor)(image_shape=(1, 4, 4), hidden=8, depth=1, time_dim=4,
                                            alpha_bars=small_schedule().alpha_bars).eval()


def small_diffusion():
    return diffusion.DiffusionModel(small_predictor(), small_schedule(), "beta", clip=True).eval()


def noisy(g, n=3):
    """Images in the diffusion's [−1, 1] space, (n, 1, 4, 4)."""
    return torch.rand(n, 1, 4, 4, generator=g) * 2 - 1


def steps(g, n=3):
    """n steps t in 1..T of small_schedule, (n,) int64."""
    return torch.randint(1, 5, (n,), generator=g)


def grid_images(g, n=3, levels=5):
    """Images (n, 1, 4, 4) whose pixels lie on the grid k / (levels − 1)."""
    return torch.randint(levels, (n, 1, 4, 4), generator=g).float() / (levels - 1)


def without_timings(images, labels, config, device, generator, progress):
    """train_data_parallel without the wall-clock seconds of its history, which differ from run to run."""
    model, history = distributed.train_data_parallel(images, labels, config, device=device, generator=generator,
                                                     progress=progress)
    return model, {k: v for k, v in history.items() if k not in ("seconds", "overhead_seconds")}


def text_ids(g, n=80, v=7):
    return torch.randint(v, (n,), generator=g)


def rnn_params(g, T=3, N=2, D=3, H=4, O=2, dtype=torch.float64):
    def r(*shape):
        return 0.5 * torch.randn(*shape, generator=g, dtype=dtype)

    return dict(x=r(T, N, D), h0=r(N, H), W_xh=r(H, D), W_hh=r(H, H), b_h=r(H), W_hy=r(O, H), b_y=r(O))


T = Arg("tensor")
TS = Arg("tensor", same_dtype=True)
G = Arg("generator")
CPU_G = Arg("generator")
OPT_G = Arg("generator", optional=True)
FLAG = Arg("flag")
DEVICE = Arg("device", optional=True)
POS = Arg("int", minimum=1)
NONNEG = Arg("int", minimum=0)
POS_REAL = Arg("real", above=0)
NONNEG_REAL = Arg("real", minimum=0)
REAL = Arg("real")
CHOICE = Arg("choice")
CALLABLE = Arg("callable")
INSTANCE = Arg("instance")
CONFIG = Arg("config", optional=True)
STR = Arg("str")
FORWARD_OK = {"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}
FORWARD = Arg("tensor", same_dtype=True, ok=FORWARD_OK)  # the input of a network's forward
NET_INPUT = Arg("tensor", same_dtype=True, fixed_last=True, ok=FORWARD_OK)  # ... whose last axis the network fixes


def forward(model, x):
    return model(x)


def sampling(make_model, check=None) -> Spec:
    """The spec of a generative model's `sample(n, generator)`."""
    return Spec(lambda model, n, generator: model.sample(n, generator),
                lambda g: dict(model=make_model(), n=4, generator=gen(g)), dict(n=POS, generator=OPT_G), check=check,
                random=True)


def pair(cls, make_model) -> Spec:
    """The spec of a GAN's constructor from its two networks, G and D."""
    return Spec(lambda G, D: cls(G, D), lambda g: dict(G=make_model().G, D=make_model().D),
                dict(G=INSTANCE, D=INSTANCE))


# Tiny training runs: what the property tests need is the checks, not the learning.
CLASSIFIER = cnn.ClassifierConfig(epochs=1, batch_size=4)
GAN_RUN = gan.GANConfig(epochs=1, batch_size=4, latent_dim=3, width=4, min_side=2)
VAE_RUN = vae.VAEConfig(latent_dim=2, hidden=8, epochs=1, batch_size=4)
CHARRNN_RUN = charrnn.CharRNNConfig(embed_dim=4, hidden=8, steps=2, batch_size=2, seq_len=4)
TOY_RUN = toygan.ToyGANConfig(steps=2, batch_size=8, hidden=8, depth=2)
MLP_RUN = backprop.MLPConfig(hidden=(4,), steps=2)


DIFFUSION_RUN = diffusion.DiffusionConfig(timesteps=4, beta_start=0.05, beta_end=0.5, hidden=8, depth=1, time_dim=4,
                                          steps=2, batch_size=4)
DATA_PARALLEL_RUN = distributed.DataParallelConfig(world_size=1, epochs=1, batch_size=4)  # never more processes here
STEP = Arg("any", also={"bool": True, "zero": 0, "too large": 5, "float": 2.5, "list": [1, 2, 3],
                        "int32": torch.ones(3, dtype=torch.int32), "wrong length": torch.ones(2, dtype=torch.int64)})
SCHEDULE = Arg("instance", also={"betas": torch.full((4,), 0.1, dtype=torch.float64)})
DIFFUSED = Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES})  # the first image batch of a formula
PARTNER = Arg("tensor", same_dtype=True, paired=True, fixed_last=True, ok={"nan": PROPAGATES, "inf": PROPAGATES})
KEEP = Arg("any", also={"int": 3, "str": "3", "out of range": (7,), "negative": (-1,), "bool": (True,)})


def _unit(result, kwargs):
    assert result.min() >= 0 and result.max() <= 1, "values in [0, 1]"


def _shape(*shape):
    def check(result, kwargs):
        assert tuple(result.shape) == shape, f"shape {tuple(result.shape)}, expected {shape}"
    return check


def _between(low, high):
    def check(result, kwargs):
        assert low <= result <= high, f"{result} outside [{low}, {high}]"
    return check


def _positive(result, kwargs):
    assert bool((torch.as_tensor(result) > 0).all()), f"{result} not positive"


def _name_or_none(result, kwargs):
    assert result is None or (isinstance(result, str) and result), f"{result!r} is not a name or None"


def _trained(model_type):
    def check(result, kwargs):
        model, history = result
        assert isinstance(model, model_type) and isinstance(history, dict)
        if isinstance(model, nn.Module):
            assert not model.training, "a trainer returns its model in eval mode"
    return check


SPECS: dict[str, Spec] = {
    # --- backprop ------------------------------------------------------------------------------
    "companion.backprop.MLP": Spec(
        backprop.MLP, lambda g: dict(sizes=[3, 4, 2], activation="tanh", seed=0, dtype=torch.float32, device=None),
        dict(sizes=Arg("sizes"), activation=CHOICE, seed=Arg("int"), dtype=Arg("dtype"), device=DEVICE)),
    "companion.backprop.MLP.forward": Spec(
        lambda model, x: model.forward(x), lambda g: dict(model=small_mlp(), x=torch.randn(5, 3, generator=g)),
        dict(x=NET_INPUT),
        check=_shape(5, 2)),
    "companion.backprop.MLP.backward": Spec(
        lambda model, grad_output: model.backward(grad_output),
        lambda g: (lambda m: (m.forward(torch.randn(5, 3, generator=g)),
                              dict(model=m, grad_output=torch.randn(5, 2, generator=g)))[1])(small_mlp()),
        dict(grad_output=Arg("tensor", same_dtype=True, paired=True, fixed_last=True,
                             ok={"nan": PROPAGATES, "inf": PROPAGATES}))),
    "companion.backprop.numerical_gradient": Spec(
        backprop.numerical_gradient,
        lambda g: dict(f=lambda t: (t ** 3).sum(), x=torch.randn(4, generator=g, dtype=torch.float64), eps=1e-6),
        dict(f=CALLABLE, x=Arg("tensor", ok={"nan": "the slope of a function at nan is nan",
                                             "inf": "the slope of a function at inf is nan",
                                             "empty": "an empty x has an empty gradient",
                                             "rank_up": "x may have any shape", "rank_down": "x may have any shape",
                                             "expanded": "refused, by design: it writes into x, and the elements of "
                                                         "an expanded view share one memory place"}),
             eps=POS_REAL)),
    "companion.backprop.relative_error": Spec(
        backprop.relative_error,
        lambda g: dict(a=torch.randn(3, 2, generator=g), b=torch.randn(3, 2, generator=g, dtype=torch.float64)),
        dict(a=Arg("tensor", ok={"empty": EMPTY_ZERO}),
             b=Arg("tensor", paired=True, fixed_last=True, ok={"empty": EMPTY_ZERO}))),
    "companion.backprop.softmax_cross_entropy": Spec(
        backprop.softmax_cross_entropy,
        lambda g: dict(logits=torch.randn(5, 3, generator=g), labels=labels(g, 5, 3)),
        dict(logits=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             labels=Arg("index", paired=True, bound=3))),
    "companion.backprop.MLPConfig": Spec(
        backprop.MLPConfig, lambda g: dict(hidden=(4,), activation="relu", lr=0.1, steps=3, batch_size=None),
        dict(hidden=Arg("any", also={"list": [4], "zero": (0,), "bool": (True,)}), activation=CHOICE, lr=POS_REAL,
             steps=POS, batch_size=Arg("int", minimum=1, optional=True))),
    "companion.backprop.train_mlp": Spec(
        backprop.train_mlp,
        lambda g: dict(x=torch.randn(8, 3, generator=g), labels=torch.arange(8) % 2, config=MLP_RUN, model=None,
                       device=None, generator=gen(g), progress=False),
        dict(x=T, labels=Arg("index", paired=True), config=CONFIG,
             model=Arg("instance", optional=True), device=DEVICE, generator=OPT_G, progress=FLAG),
        check=_trained(backprop.MLP), random=True),

    # --- charrnn -------------------------------------------------------------------------------
    "companion.charrnn.CharRNNConfig": Spec(
        charrnn.CharRNNConfig, lambda g: dict(cell="rnn", embed_dim=4, hidden=8, steps=2, lr=1e-3),
        dict(cell=CHOICE, embed_dim=POS, hidden=POS, steps=POS, lr=POS_REAL)),
    "companion.charrnn.CharRNN": Spec(
        charrnn.CharRNN, lambda g: dict(vocab_size=7, embed_dim=4, hidden=8, cell="gru"),
        dict(vocab_size=POS, embed_dim=POS, hidden=POS, cell=CHOICE)),
    "companion.charrnn.CharRNN.forward": Spec(
        lambda model, x, h: model(x, h),
        lambda g: dict(model=small_charrnn(), x=torch.randint(7, (2, 5), generator=g), h=torch.zeros(1, 2, 8)),
        dict(x=Arg("index", bound=7), h=Arg("tensor", same_dtype=True, optional=True,
                                            ok={"nan": PROPAGATES, "inf": PROPAGATES}))),
    "companion.charrnn.train_charrnn": Spec(
        charrnn.train_charrnn,
        lambda g: dict(ids=text_ids(g), config=CHARRNN_RUN, vocab_size=7, device=None, generator=gen(g),
                       progress=False),
        dict(ids=Arg("index", bound=7), config=CONFIG, vocab_size=Arg("int", minimum=1, optional=True),
             device=DEVICE, generator=OPT_G, progress=FLAG),
        check=_trained(charrnn.CharRNN), random=True),
    "companion.charrnn.bits_per_character": Spec(
        charrnn.bits_per_character, lambda g: dict(model=small_charrnn(), ids=text_ids(g, 40), num_streams=4),
        dict(model=INSTANCE, ids=Arg("index", bound=7), num_streams=POS),
        check=_between(0, math.inf)),
    "companion.charrnn.sample": Spec(
        charrnn.sample,
        lambda g: dict(model=small_charrnn(), prompt=text_ids(g, 3), n=5, temperature=0.8, generator=gen(g)),
        dict(model=INSTANCE, prompt=Arg("index", bound=7), n=NONNEG, temperature=POS_REAL, generator=OPT_G),
        random=True),

    # --- checks (the notebooks' verdicts: a false claim raises AssertionError by design) -------------
    "companion.checks.check": Spec(
        checks.check, lambda g: dict(claim="a claim", holds=True, value="1.0"),
        dict(claim=STR, holds=Arg("any", also={"str": "yes", "int": 1, "list": [True]}),
             value=Arg("str", optional=True)), allowed=(AssertionError,)),
    "companion.checks.max_abs_difference": Spec(
        checks.max_abs_difference,
        lambda g: dict(actual=torch.randn(3, generator=g), expected=torch.randn(3, generator=g)),
        dict(actual=Arg("tensor", arrays=True, ok={"nan": "the difference is nan, which check_close reports",
                                                   "inf": "the difference is inf or nan, which check_close reports",
                                                   "empty": EMPTY_ZERO, "int64": "integers are numbers too",
                                                   "bool": "booleans are 0 and 1", "float16": "any float is read"}),
             expected=Arg("tensor", arrays=True, paired=True,
                          ok={"nan": "reported by check_close", "inf": "reported by check_close",
                              "empty": EMPTY_ZERO, "int64": "integers are numbers too", "bool": "0 and 1",
                              "float16": "any float is read"}))),
    "companion.checks.check_close": Spec(
        checks.check_close,
        lambda g: dict(claim="close", actual=torch.ones(3), expected=torch.ones(3), atol=1e-6, rtol=0.0),
        dict(claim=STR, atol=Arg("real", minimum=0),
             rtol=Arg("real", minimum=0),
             actual=Arg("tensor", arrays=True, ok={"nan": "a failed claim (AssertionError)",
                                                   "inf": "a failed claim (AssertionError)", "empty": "vacuous",
                                                   "int64": "numbers", "bool": "0 and 1", "float16": "numbers"}),
             expected=Arg("tensor", arrays=True, paired=True,
                          ok={"nan": "a failed claim", "inf": "a failed claim", "empty": "vacuous",
                              "int64": "numbers", "bool": "0 and 1", "float16": "numbers"})),
        allowed=(AssertionError,)),
    "companion.checks.check_below": Spec(
        checks.check_below, lambda g: dict(claim="small", value=1e-13, bound=1e-12),
        dict(claim=STR, value=Arg("real", ok={"nan": "a failed claim (AssertionError)",
                                              "inf": "a failed claim (AssertionError)"}),
             bound=Arg("real", above=0)),
        allowed=(AssertionError,)),

    # --- cnn -----------------------------------------------------------------------------------
    "companion.cnn.flatten_size": Spec(cnn.flatten_size, lambda g: dict(image_size=8, channels=64),
                                       dict(image_size=Arg("int", minimum=4), channels=POS)),
    "companion.cnn.CNN": Spec(cnn.CNN, lambda g: dict(in_channels=1, image_size=8, num_classes=3, dropout=0.1),
                              dict(in_channels=POS, image_size=Arg("int", minimum=4), num_classes=Arg("int", minimum=2),
                                   dropout=Arg("real", minimum=0, also={"one": 1.0}))),
    "companion.cnn.CNN.check_input": Spec(lambda model, x: model.check_input(x),
                                          lambda g: dict(model=small_cnn(g), x=images(g)), dict(x=FORWARD)),
    "companion.cnn.CNN.features": Spec(lambda model, x: model.features(x),
                                       lambda g: dict(model=small_cnn(g), x=images(g)), dict(x=FORWARD)),
    "companion.cnn.CNN.forward": Spec(forward, lambda g: dict(model=small_cnn(g), x=images(g)),
                                      dict(x=FORWARD)),
    "companion.cnn.ClassifierConfig": Spec(
        cnn.ClassifierConfig, lambda g: dict(epochs=1, batch_size=4, lr=1e-3, weight_decay=0.0, max_shift=1,
                                             dropout=0.2),
        dict(epochs=POS, batch_size=POS, lr=POS_REAL, weight_decay=NONNEG_REAL, max_shift=NONNEG,
             dropout=NONNEG_REAL)),
    "companion.cnn.train_classifier": Spec(
        cnn.train_classifier,
        lambda g: dict(images=images(g, 8), labels=torch.arange(8) % 3, config=CLASSIFIER, eval_images=images(g, 4),
                       eval_labels=labels(g, 4, 3), num_classes=3, device=None, generator=gen(g), progress=False),
        dict(images=Arg("tensor", fixed_last=True), labels=Arg("index", paired=True, bound=3), config=CONFIG,
             eval_images=Arg("tensor", optional=True, same_dtype=True),
             eval_labels=Arg("index", optional=True, paired=True, bound=3),
             num_classes=Arg("int", minimum=3, optional=True), device=DEVICE, generator=OPT_G, progress=FLAG),
        check=_trained(cnn.CNN), random=True),

    # --- compact -------------------------------------------------------------------------------
    "companion.compact.SeparableConv2d": Spec(
        seeded(compact.SeparableConv2d), lambda g: dict(in_channels=2, out_channels=3, kernel_size=3, padding=1),
        dict(in_channels=POS, out_channels=POS, kernel_size=POS, padding=NONNEG)),
    "companion.compact.SeparableConv2d.forward": Spec(
        forward, lambda g: dict(model=small_separable(), x=torch.randn(3, 2, 5, 5, generator=g)),
        dict(x=FORWARD), check=_shape(3, 3, 5, 5)),
    "companion.compact.SeparableConv2d.full_weight": Spec(
        lambda model: model.full_weight(), lambda g: dict(model=small_separable()), check=_shape(3, 2, 3, 3)),
    "companion.compact.CompactCNN": Spec(
        seeded(compact.CompactCNN), lambda g: dict(in_channels=1, image_size=8, num_classes=3, widths=(2, 3),
                                                   hidden=4, separable=True),
        dict(in_channels=POS, image_size=Arg("int", minimum=4), num_classes=Arg("int", minimum=2),
             widths=Arg("any", also={"list": [2, 3], "three": (2, 3, 4), "zero": (0, 3), "bool": (True, 3)}),
             hidden=POS, separable=FLAG)),
    "companion.compact.CompactCNN.forward": Spec(
        forward, lambda g: dict(model=small_compact(), x=images(g, 3)), dict(x=NET_INPUT), check=_shape(3, 3)),
    "companion.compact.count_parameters": Spec(
        compact.count_parameters, lambda g: dict(model=small_compact()), dict(model=INSTANCE), check=_positive),
    "companion.compact.multiply_adds": Spec(
        compact.multiply_adds, lambda g: dict(model=small_compact(), example=images(g, 1)),
        dict(model=INSTANCE, example=Arg("tensor", same_dtype=True, fixed_last=True,
                                         ok={"nan": "only the layers' shapes are counted",
                                             "inf": "only the layers' shapes are counted"})),
        check=_positive),

    # --- conv ----------------------------------------------------------------------------------
    "companion.conv.conv_output_size": Spec(
        conv.conv_output_size, lambda g: dict(n=8, kernel_size=3, stride=2, padding=1, dilation=1),
        dict(n=Arg("int", minimum=1, also={"smaller than the kernel": 0}), kernel_size=POS, stride=POS,
             padding=NONNEG, dilation=POS, )),
    **{f"companion.conv.{name}": Spec(
        getattr(conv, name),
        lambda g: dict(x=torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64),
                       weight=torch.randn(4, 3, 3, 2, generator=g, dtype=torch.float64),
                       bias=torch.randn(4, generator=g, dtype=torch.float64), stride=(2, 1), padding=1, dilation=1),
        dict(x=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             weight=Arg("tensor", same_dtype=True, ok={"nan": PROPAGATES, "inf": PROPAGATES},
                        also={"a kernel larger than the padded input": torch.zeros(4, 3, 9, 9, dtype=torch.float64)}),
             bias=Arg("tensor", same_dtype=True, optional=True, paired=True, ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             stride=Arg("pair", minimum=1), padding=Arg("pair", minimum=0), dilation=Arg("pair", minimum=1)))
       for name in ("conv2d", "conv2d_naive")},
    "companion.conv.cross_correlate2d": Spec(
        conv.cross_correlate2d,
        lambda g: dict(x=torch.randn(5, 4, generator=g, dtype=torch.float64),
                       k=torch.randn(2, 3, generator=g, dtype=torch.float64)),
        dict(x=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             k=Arg("tensor", same_dtype=True, ok={"nan": PROPAGATES, "inf": PROPAGATES},
                   also={"too large": torch.zeros(6, 3, dtype=torch.float64)}))),
    "companion.conv.im2col": Spec(
        conv.im2col, lambda g: dict(x=torch.randn(2, 3, 6, 5, generator=g), kernel_size=(3, 2), stride=1, padding=1,
                                    dilation=1),
        dict(x=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES}), kernel_size=Arg("pair", minimum=1),
             stride=Arg("pair", minimum=1), padding=Arg("pair", minimum=0), dilation=Arg("pair", minimum=1))),
    "companion.conv.conv2d_backward": Spec(
        conv.conv2d_backward,
        lambda g: dict(x=torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64),
                       weight=torch.randn(4, 3, 3, 2, generator=g, dtype=torch.float64),
                       grad_output=torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64), stride=2, padding=1,
                       dilation=1),
        dict(x=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             weight=Arg("tensor", same_dtype=True, ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             grad_output=Arg("tensor", same_dtype=True, paired=True, fixed_last=True,
                             ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             stride=Arg("pair", minimum=1), padding=Arg("pair", minimum=0), dilation=Arg("pair", minimum=1))),

    # --- data ----------------------------------------------------------------------------------
    "companion.data.load_digits": Spec(data.load_digits, lambda g: dict(split="test"), dict(split=CHOICE),
                                       check=lambda out, kw: _shape(360, 1, 8, 8)(out[0], kw)),
    "companion.data.load_photo": Spec(data.load_photo, lambda g: dict(name="china", max_side=32),
                                      dict(name=CHOICE, max_side=Arg("int", minimum=8, optional=True)),
                                      check=lambda out, kw: _unit(out, kw)),
    "companion.data.check_unit_images": Spec(
        data.check_unit_images, lambda g: dict(images=images(g), square=True, name="images"),
        dict(images=Arg("tensor", also={"above one": torch.full((2, 1, 8, 8), 1.5), "not square":
                                        torch.zeros(2, 1, 8, 6)}),
             square=FLAG, name=STR)),

    "companion.data.validation_split": Spec(
        data.validation_split, lambda g: dict(images=images(g, 12), labels=torch.arange(12) % 3, size=3, seed=0),
        dict(images=Arg("tensor", ok={**dict.fromkeys(("nan", "inf"), "a split copies examples, whatever they hold"),
                                      **dict.fromkeys(("int64", "bool", "float16", "zero_last"),
                                                      "a split moves rows of any dtype and size alike")}),
             labels=Arg("index", paired=True, also={"a class seen once": torch.tensor([0] * 11 + [1])}),
             size=Arg("int", minimum=1, also={"every example": 12, "fewer than the classes": 2}), seed=NONNEG),
        check=lambda out, kw: [_shape(*shape)(part[0], kw) for part, shape in zip(out, ((9, 1, 8, 8), (3, 1, 8, 8)),
                                                                                  strict=True)]),

    # --- diffusion -----------------------------------------------------------------------------
    "companion.diffusion.linear_betas": Spec(
        diffusion.linear_betas, lambda g: dict(timesteps=4, beta_start=0.05, beta_end=0.5),
        dict(timesteps=POS, beta_start=Arg("real", above=0, also={"above beta_end": 0.6}),
             beta_end=Arg("real", above=0, also={"one": 1.0})), check=_shape(4)),
    "companion.diffusion.NoiseSchedule": Spec(
        lambda betas: vars(diffusion.NoiseSchedule(betas)), lambda g: dict(betas=diffusion.linear_betas(4, 0.05, 0.5)),
        dict(betas=Arg("tensor", also={"one": torch.tensor([0.5, 1.0], dtype=torch.float64),
                                       "zero": torch.tensor([0.0, 0.5], dtype=torch.float64)}))),
    "companion.diffusion.NoiseSchedule.variances": Spec(
        lambda schedule, kind: schedule.variances(kind), lambda g: dict(schedule=small_schedule(), kind="posterior"),
        dict(kind=CHOICE), check=_shape(4)),
    "companion.diffusion.NoiseSchedule.at": Spec(
        lambda schedule, values, t, like: schedule.at(values, t, like),
        lambda g: dict(schedule=small_schedule(), values=small_schedule().alpha_bars, t=steps(g), like=noisy(g)),
        dict(values=Arg("tensor", ok=dict.fromkeys(("nan", "inf"), "values are looked up, not computed with"),
                        also={"shorter than T": torch.ones(2, dtype=torch.float64)}),
             t=Arg("index", paired=True, bound=5, also={"zero": torch.zeros(3, dtype=torch.int64)}),
             like=Arg("tensor", paired=True, ok=dict.fromkeys(("nan", "inf", "zero_last"),
                                                             "only the dtype, device and rank of like are used"))),
        check=_shape(3, 1, 1, 1)),
    "companion.diffusion.forward_step": Spec(
        diffusion.forward_step,
        lambda g: dict(x_prev=noisy(g), t=steps(g), schedule=small_schedule(), noise=torch.randn(3, 1, 4, 4,
                                                                                                   generator=g)),
        dict(x_prev=DIFFUSED, t=STEP, schedule=SCHEDULE, noise=PARTNER)),
    "companion.diffusion.q_sample": Spec(
        diffusion.q_sample,
        lambda g: dict(x0=noisy(g), t=steps(g), schedule=small_schedule(), noise=torch.randn(3, 1, 4, 4, generator=g)),
        dict(x0=DIFFUSED, t=STEP, schedule=SCHEDULE, noise=PARTNER)),
    "companion.diffusion.posterior": Spec(
        diffusion.posterior, lambda g: dict(x0=noisy(g), x_t=noisy(g), t=steps(g), schedule=small_schedule()),
        dict(x0=DIFFUSED, x_t=PARTNER, t=STEP, schedule=SCHEDULE)),
    **{f"companion.diffusion.{name}": Spec(
        getattr(diffusion, name),
        lambda g: dict(x_t=noisy(g), t=steps(g), eps=torch.randn(3, 1, 4, 4, generator=g), schedule=small_schedule()),
        dict(x_t=DIFFUSED, t=STEP, eps=PARTNER, schedule=SCHEDULE))
       for name in ("predict_x0", "reverse_mean")},
    "companion.diffusion.elbo_weights": Spec(
        diffusion.elbo_weights, lambda g: dict(schedule=small_schedule(), kind="posterior"),
        dict(schedule=SCHEDULE, kind=CHOICE), check=_positive),
    "companion.diffusion.loss_weights": Spec(
        diffusion.loss_weights, lambda g: dict(schedule=small_schedule(), snr_gamma=2.0),
        dict(schedule=SCHEDULE, snr_gamma=Arg("real", above=0, optional=True)), check=_positive),
    "companion.diffusion.noise_prediction_loss": Spec(
        diffusion.noise_prediction_loss,
        lambda g: dict(net=small_predictor(), x0=noisy(g), schedule=small_schedule(), generator=gen(g), snr_gamma=2.0),
        dict(net=Arg("instance", also={"not a network": lambda x_t, t: x_t}),
             x0=Arg("tensor", same_dtype=True, fixed_last=True, ok={"nan": LOSS_NAN, "inf": LOSS_NAN}),
             schedule=SCHEDULE, generator=OPT_G, snr_gamma=Arg("real", above=0, optional=True)),
        random=True),
    "companion.diffusion.model_mean": Spec(
        diffusion.model_mean,
        lambda g: dict(net=small_predictor(), x_t=noisy(g), t=steps(g), schedule=small_schedule(), clip=True),
        dict(net=INSTANCE, x_t=Arg("tensor", same_dtype=True, fixed_last=True,
                                   ok={"nan": PROPAGATES, "inf": PROPAGATES}),
             t=STEP, schedule=SCHEDULE, clip=FLAG)),
    "companion.diffusion.reverse_step": Spec(
        diffusion.reverse_step,
        lambda g: dict(net=small_predictor(), x_t=noisy(g), t=3, schedule=small_schedule(), kind="posterior",
                       generator=gen(g), clip=False),
        dict(net=INSTANCE, x_t=Arg("tensor", same_dtype=True, fixed_last=True,
                                   ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}),
             t=Arg("int", minimum=1, also={"too large": 5}), schedule=SCHEDULE, kind=CHOICE, generator=OPT_G,
             clip=FLAG),
        random=True),
    "companion.diffusion.NoisePredictor": Spec(
        seeded(diffusion.NoisePredictor),
        lambda g: dict(image_shape=(1, 4, 4), hidden=8, depth=1, time_dim=4, alpha_bars=small_schedule().alpha_bars),
        dict(image_shape=Arg("any", also={"two": (4, 4), "zero": (1, 0, 4), "bool": (1, True, 4), "int": 16,
                                          "list": [1, 4, 4]}),
             hidden=POS, depth=POS, time_dim=Arg("int", minimum=2, also={"odd": 3}),
             alpha_bars=Arg("tensor", optional=True, also={"one": torch.ones(4, dtype=torch.float64)}))),
    "companion.diffusion.NoisePredictor.forward": Spec(
        lambda model, x_t, t: model(x_t, t), lambda g: dict(model=small_predictor(), x_t=noisy(g), t=steps(g)),
        dict(x_t=NET_INPUT, t=Arg("index", paired=True, bound=5, also={"zero": torch.zeros(3, dtype=torch.int64)})),
        check=_shape(3, 1, 4, 4)),
    "companion.diffusion.NoisePredictor.time_embedding": Spec(
        lambda model, t: model.time_embedding(t),
        lambda g: dict(model=small_predictor(), t=torch.randint(10, (3,), generator=g)),
        dict(t=Arg("index", ok={"negative": "sines and cosines are defined at every integer step",
                                "empty": EMPTY_BATCH})),
        check=_shape(3, 4)),
    "companion.diffusion.DiffusionModel": Spec(
        diffusion.DiffusionModel,
        lambda g: dict(net=small_predictor(), schedule=small_schedule(), variance="posterior", clip=False),
        dict(net=Arg("instance", also={"a network without image_shape": nn.Linear(2, 2)}), schedule=SCHEDULE,
             variance=CHOICE, clip=FLAG)),
    "companion.diffusion.DiffusionModel.denoise": Spec(
        lambda model, x_t, t, generator, keep: model.denoise(x_t, t, generator, keep),
        lambda g: dict(model=small_diffusion(), x_t=noisy(g), t=3, generator=gen(g), keep=(3, 1, 0)),
        dict(x_t=Arg("tensor", fixed_last=True, ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}),
             t=Arg("int", minimum=1, also={"too large": 5}), generator=OPT_G, keep=KEEP),
        random=True),
    "companion.diffusion.DiffusionModel.sample": sampling(small_diffusion, check=_unit),
    "companion.diffusion.DiffusionModel.trajectory": Spec(
        lambda model, n, keep, generator: model.trajectory(n, keep, generator),
        lambda g: dict(model=small_diffusion(), n=2, keep=(4, 2, 0), generator=gen(g)),
        dict(n=POS, keep=KEEP, generator=OPT_G), random=True),
    **{f"companion.diffusion.DiffusionModel.{name}": Spec(
        lambda model, images, levels, generator, name=name: getattr(model, name)(images, levels, generator),
        lambda g: dict(model=small_diffusion(), images=grid_images(g), levels=5, generator=gen(g)),
        dict(images=Arg("tensor", fixed_last=True, also={"off the grid": torch.full((2, 1, 4, 4), 0.3),
                                                         "above one": torch.full((2, 1, 4, 4), 2.0)}),
             levels=Arg("int", minimum=2), generator=OPT_G),
        check=_shape(*shape), random=True)
       for name, shape in (("elbo_terms", (3, 5)), ("negative_elbo", (3,)))},
    "companion.diffusion.DiffusionConfig": Spec(
        diffusion.DiffusionConfig,
        lambda g: dict(timesteps=4, beta_start=0.05, beta_end=0.5, hidden=8, depth=1, time_dim=4, predict="eps",
                       snr_gamma=2.0, steps=2, batch_size=4, lr=1e-3, lr_final=1e-4, ema_decay=0.5,
                       variance="posterior", clip=True),
        dict(timesteps=POS, beta_start=Arg("real", above=0, also={"above beta_end": 0.6}),
             beta_end=Arg("real", above=0, also={"one": 1.0}), hidden=POS, depth=POS,
             time_dim=Arg("int", minimum=2, also={"odd": 3}), predict=CHOICE,
             snr_gamma=Arg("real", above=0, optional=True), steps=POS, batch_size=POS, lr=POS_REAL, lr_final=POS_REAL,
             ema_decay=Arg("real", minimum=0, also={"one": 1.0}), variance=CHOICE, clip=FLAG)),
    "companion.diffusion.train_diffusion": Spec(
        diffusion.train_diffusion,
        lambda g: dict(images=images(g, 8, 1, 4), config=DIFFUSION_RUN, device=None, generator=gen(g), progress=False),
        dict(images=Arg("tensor", also={"above one": torch.full((4, 1, 4, 4), 2.0)}), config=CONFIG, device=DEVICE,
             generator=OPT_G, progress=FLAG),
        check=_trained(diffusion.DiffusionModel), random=True),

    # --- distributed (one process only: these tests never start others) --------------------------
    "companion.distributed.DataParallelConfig": Spec(
        distributed.DataParallelConfig, lambda g: dict(world_size=2, epochs=1, batch_size=4, lr=0.05, momentum=0.9),
        dict(world_size=POS, epochs=POS, batch_size=Arg("int", minimum=1, also={"not divisible by world_size": 3}),
             lr=POS_REAL, momentum=Arg("real", minimum=0, also={"one": 1.0}))),
    "companion.distributed.loopback_interface": Spec(
        distributed.loopback_interface, lambda g: {},
        check=_name_or_none),
    "companion.distributed.train_data_parallel": Spec(
        without_timings,
        lambda g: dict(images=images(g, 8), labels=torch.arange(8) % 3, config=DATA_PARALLEL_RUN, device=None,
                       generator=gen(g), progress=False),
        # config is "optional" so that no test passes None, whose defaults would start two processes
        dict(images=Arg("tensor", fixed_last=True), labels=Arg("index", paired=True), config=CONFIG, device=DEVICE,
             generator=OPT_G, progress=FLAG),
        check=_trained(cnn.CNN), random=True),

    # --- env -----------------------------------------------------------------------------------
    "companion.env.seed_everything": Spec(env.seed_everything, lambda g: dict(seed=3, num_threads=1),
                                          dict(seed=Arg("int"), num_threads=Arg("int", minimum=1, optional=True))),
    "companion.env.default_device": Spec(env.default_device, lambda g: {}),
    "companion.env.env_report": Spec(env.env_report, lambda g: {}),

    # --- gan -----------------------------------------------------------------------------------
    "companion.gan.optimal_discriminator": Spec(
        gan.optimal_discriminator,
        lambda g: dict(p_data=torch.rand(5, generator=g), p_model=torch.rand(5, generator=g)),
        dict(p_data=Arg("tensor", nonneg=True, ok={"empty": "an empty density gives an empty D*"}),
             p_model=Arg("tensor", nonneg=True, same_dtype=True, paired=True,
                         ok={"empty": "an empty density gives an empty D*"})),
        check=_unit),
    "companion.gan.upsampling_plan": Spec(gan.upsampling_plan, lambda g: dict(image_size=16, min_side=4),
                                          dict(image_size=Arg("int", minimum=2), min_side=POS)),
    "companion.gan.Generator": Spec(
        gan.Generator, lambda g: dict(out_channels=1, image_size=8, latent_dim=3, width=4, min_side=2),
        dict(out_channels=POS, image_size=Arg("int", minimum=2), latent_dim=POS, width=POS, min_side=POS)),
    "companion.gan.Generator.forward": Spec(
        lambda model, z: model(z), lambda g: dict(model=small_gan().G, z=torch.randn(3, 3, generator=g)),
        dict(z=NET_INPUT)),
    "companion.gan.Discriminator": Spec(
        gan.Discriminator, lambda g: dict(in_channels=1, image_size=8, width=4, min_side=2),
        dict(in_channels=POS, image_size=Arg("int", minimum=2), width=POS, min_side=POS)),
    "companion.gan.Discriminator.forward": Spec(
        forward, lambda g: dict(model=small_gan().D, x=images(g, 3, 1, 4)),
        dict(x=NET_INPUT)),
    "companion.gan.GAN": pair(gan.GAN, small_gan),
    "companion.gan.GAN.sample_latent": Spec(lambda model, n, generator: model.sample_latent(n, generator),
                                            lambda g: dict(model=small_gan(), n=4, generator=gen(g)),
                                            dict(n=POS, generator=OPT_G), random=True),
    "companion.gan.GAN.decode": Spec(
        lambda model, z: model.decode(z), lambda g: dict(model=small_gan(), z=torch.randn(4, 3, generator=g)),
        dict(z=Arg("tensor", fixed_last=True, ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH,
                                                  "other_float": "z is converted to the model's dtype"})),
        check=_unit),
    "companion.gan.GAN.sample": sampling(small_gan, check=_unit),
    "companion.gan.GANConfig": Spec(
        gan.GANConfig, lambda g: dict(epochs=2, batch_size=4, latent_dim=3, width=4, min_side=2, lr=1e-3,
                                      betas=(0.5, 0.9), ema_decay=0.9, snapshot_epochs=(1,)),
        dict(epochs=POS, batch_size=POS, latent_dim=POS, width=POS, min_side=POS, lr=POS_REAL,
             betas=Arg("any", also={"list": [0.5, 0.9], "one": (0.5,), "too large": (0.5, 1.0), "str": "0.5"}),
             ema_decay=Arg("real", minimum=0, also={"one": 1.0}),
             snapshot_epochs=Arg("any", also={"list": [1], "zero": (0,), "after the end": (3,), "bool": (True,)}))),
    "companion.gan.recalibrate_batchnorm": Spec(
        gan.recalibrate_batchnorm, lambda g: dict(G=small_gan().G, generator=gen(g), batches=2, batch_size=4),
        dict(G=Arg("instance", also={"a discriminator": small_gan().D}), generator=OPT_G, batches=POS,
             batch_size=Arg("int", minimum=2)),
        changes=("G",)),
    "companion.gan.discriminator_loss": Spec(
        gan.discriminator_loss,
        lambda g: dict(real_logits=torch.randn(4, generator=g), fake_logits=torch.randn(3, generator=g)),
        dict(real_logits=Arg("tensor", ok={"nan": LOSS_NAN, "inf": LOSS_NAN, "rank_up": LOGITS_ANY_SHAPE,
                                           "rank_down": LOGITS_ANY_SHAPE}),
             fake_logits=Arg("tensor", same_dtype=True, ok={"nan": LOSS_NAN, "inf": LOSS_NAN,
                                                            "rank_up": LOGITS_ANY_SHAPE,
                                                            "rank_down": LOGITS_ANY_SHAPE}))),
    "companion.gan.generator_loss": Spec(
        gan.generator_loss, lambda g: dict(fake_logits=torch.randn(4, generator=g), loss="saturating"),
        dict(fake_logits=Arg("tensor", ok={"nan": LOSS_NAN, "inf": LOSS_NAN, "rank_up": LOGITS_ANY_SHAPE,
                                           "rank_down": LOGITS_ANY_SHAPE}), loss=CHOICE)),
    "companion.gan.train_gan": Spec(
        gan.train_gan,
        lambda g: dict(images=images(g, 8, 1, 4), config=GAN_RUN, device=None, generator=gen(g), progress=False),
        dict(images=Arg("tensor", fixed_last=True), config=CONFIG, device=DEVICE, generator=OPT_G, progress=FLAG),
        check=_trained(gan.GAN), random=True),

    # --- glossary ------------------------------------------------------------------------------
    "companion.glossary.avoided_variants": Spec(glossary.avoided_variants, lambda g: {}),

    # --- metrics -------------------------------------------------------------------------------
    **{f"companion.metrics.{name}": Spec(
        getattr(metrics, name), lambda g: dict(model=small_cnn(g), inputs=images(g), batch_size=4),
        dict(model=INSTANCE, inputs=Arg("tensor", same_dtype=True), batch_size=POS))
       for name in ("logits", "predict", "predict_proba")},
    **{f"companion.metrics.{name}": Spec(
        getattr(metrics, name), lambda g: dict(model=small_cnn(g), inputs=images(g), labels=labels(g), batch_size=4),
        dict(model=INSTANCE, inputs=Arg("tensor", same_dtype=True), labels=Arg("index", paired=True, bound=10),
             batch_size=POS))
       for name in ("accuracy", "evaluate")},
    "companion.metrics.gaussian_frechet_distance": Spec(
        metrics.gaussian_frechet_distance,
        lambda g: dict(mu_a=torch.randn(3, generator=g), cov_a=torch.eye(3), mu_b=torch.randn(3, generator=g),
                       cov_b=2 * torch.eye(3, dtype=torch.float64)),
        dict(mu_a=T, mu_b=Arg("tensor", paired=True), cov_a=Arg("tensor", fixed_last=True, also={
            "not symmetric": torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
            "negative eigenvalue": -torch.eye(3)}), cov_b=Arg("tensor", fixed_last=True)),
        check=_between(0, math.inf)),
    "companion.metrics.frechet_distance": Spec(
        metrics.frechet_distance,
        lambda g: dict(feats_a=torch.randn(12, 3, generator=g), feats_b=torch.randn(9, 3, generator=g)),
        dict(feats_a=Arg("tensor", fixed_last=True, also={"one row": torch.zeros(1, 3)}),
             feats_b=Arg("tensor", fixed_last=True))),
    "companion.metrics.frechet_distances": Spec(
        metrics.frechet_distances,
        lambda g: dict(feats=torch.randn(12, 3, generator=g), reference=torch.randn(9, 3, generator=g), size=4),
        dict(feats=Arg("tensor", fixed_last=True), reference=Arg("tensor", fixed_last=True),
             size=Arg("int", minimum=2, also={"more than the rows": 13})),
        check=_shape(3)),
    "companion.metrics.novelty_scores": Spec(
        metrics.novelty_scores,
        lambda g: dict(samples=images(g, 4, 1, 4), train_images=images(g, 6, 1, 4), unseen_images=images(g, 5, 1, 4),
                       quantile=0.25),
        dict(samples=Arg("tensor", fixed_last=True), train_images=Arg("tensor", fixed_last=True),
             unseen_images=Arg("tensor", fixed_last=True), quantile=Arg("real", above=0, also={"one": 1.0}))),
    "companion.metrics.label_entropy": Spec(
        metrics.label_entropy, lambda g: dict(predictions=torch.arange(20) % 4, num_classes=4),
        dict(predictions=Arg("index", also={"probabilities that do not sum to 1": torch.rand(3, 4) + 1},
                             errors={"float32": ValueError}),  # float predictions are probabilities (N, K)
             num_classes=Arg("int", minimum=4, optional=True)),
        check=_between(0, math.log(4) + 1e-12)),
    "companion.metrics.max_entropy": Spec(metrics.max_entropy, lambda g: dict(num_classes=10), dict(num_classes=POS)),
    "companion.metrics.covered_modes": Spec(
        metrics.covered_modes,
        lambda g: dict(samples=torch.randn(20, 2, generator=g), centers=toygan.ring_centers(), radius=0.5,
                       min_count=1),
        dict(samples=Arg("tensor", fixed_last=True), centers=Arg("tensor", fixed_last=True), radius=POS_REAL,
             min_count=POS)),
    "companion.metrics.nearest_neighbour_distances": Spec(
        metrics.nearest_neighbour_distances,
        lambda g: dict(queries=images(g, 5), references=images(g, 7), batch_size=2),
        dict(queries=Arg("tensor", fixed_last=True), references=Arg("tensor", fixed_last=True), batch_size=POS)),

    # --- plot ----------------------------------------------------------------------------------
    "companion.plot.cjk_font_name": Spec(plot.cjk_font_name, lambda g: {}),
    "companion.plot.setup": Spec(plot.setup, lambda g: {}),
    "companion.plot.show": Spec(
        lambda fig, alt: plot.show(fig, alt=alt),
        lambda g: dict(fig=plt.subplots()[0], alt="An empty pair of axes for a test."),
        dict(fig=Arg("instance", optional=True), alt=Arg("str", also={"one word": "figure"}))),
    "companion.plot.show_images": Spec(
        plot.show_images, lambda g: dict(images=images(g, 3), ncols=2, titles=["a", "b", "c"], suptitle="t",
                                         cell_size=0.5, cmap="gray_r", vmin=0.0, vmax=1.0),
        dict(images=Arg("tensor", arrays=True, ok={"nan": "a nan pixel is drawn blank, as imshow draws it",
                                                   "inf": "an inf pixel is drawn at the end of the colour scale",
                                                   "int64": "integer images are drawn on the same scale",
                                                   "bool": "boolean images are drawn as 0 and 1",
                                                   "float16": "drawn after conversion to float32"}),
             ncols=POS, titles=Arg("any", optional=True, also={"too few": ["a"], "str": "abc"}),
             suptitle=Arg("str", optional=True), cell_size=POS_REAL, cmap=Arg("choice"), vmin=REAL,
             vmax=Arg("real", also={"below vmin": -1.0}))),
    "companion.plot.plot_history": Spec(
        plot.plot_history, lambda g: dict(history={"loss": [1.0, 0.5], "accuracy": [0.1, 0.9]}, keys=["loss"],
                                          ax=None, xlabel="epoch", title="t", logy=False),
        dict(history=Arg("any", also={"list": [1.0, 2.0], "strings": {"loss": ["a"]}}),
             keys=Arg("any", optional=True, also={"unknown key": ["nonsense"]}), ax=Arg("instance", optional=True),
             xlabel=STR, title=Arg("str", optional=True), logy=FLAG)),
    "companion.plot.plot_decision_regions": Spec(
        plot.plot_decision_regions,
        lambda g: dict(predict_proba=lambda p: torch.sigmoid(p[:, 0]), points=torch.randn(5, 2, generator=g),
                       labels=torch.tensor([0, 1, 0, 1, 1]), ax=None, extent=(-1.0, 1.0, -1.0, 1.0), resolution=8,
                       title="t", cmap="RdBu_r"),
        dict(predict_proba=Arg("callable", also={"wrong shape": lambda p: p}),
             points=Arg("tensor", optional=True, fixed_last=True, arrays=True),
             labels=Arg("index", optional=True, paired=True, arrays=True, bound=2),
             ax=Arg("instance", optional=True), extent=Arg("any", also={"reversed": (1.0, -1.0, 0.0, 1.0),
                                                                       "three": (0.0, 1.0, 0.0)}),
             resolution=Arg("int", minimum=2), title=Arg("str", optional=True), cmap=CHOICE)),
    "companion.plot.moving_average": Spec(
        plot.moving_average, lambda g: dict(values=[1.0, 2.0, 4.0, 8.0], window=2),
        dict(values=Arg("any", also={"strings": ["a", "b"], "2-D": [[1.0, 2.0]], "int": 3}),
             window=Arg("int", minimum=1, also={"longer than the values": 5}))),

    # --- rnn -----------------------------------------------------------------------------------
    "companion.rnn.rnn_forward": Spec(
        rnn.rnn_forward, rnn_params,
        {name: Arg("tensor", same_dtype=True, fixed_last=name not in ("x",), paired=name in ("h0",),
                   ok={"nan": PROPAGATES, "inf": PROPAGATES}) for name in ("x", "h0", "W_xh", "W_hh", "b_h", "W_hy",
                                                                           "b_y")}),
    "companion.rnn.rnn_backward": Spec(
        rnn.rnn_backward,
        lambda g: dict(**rnn_params(g), grad_y=torch.randn(3, 2, 2, generator=g, dtype=torch.float64)),
        {name: Arg("tensor", same_dtype=True, fixed_last=name not in ("x",), paired=name in ("h0", "grad_y"),
                   ok={"nan": PROPAGATES, "inf": PROPAGATES}) for name in ("x", "h0", "W_xh", "W_hh", "b_h", "W_hy",
                                                                           "b_y", "grad_y")}),
    "companion.rnn.state_jacobian_norms": Spec(
        rnn.state_jacobian_norms,
        lambda g: dict(h=torch.tanh(torch.randn(4, 3, generator=g, dtype=torch.float64)),
                       W_hh=torch.randn(3, 3, generator=g, dtype=torch.float64)),
        dict(h=T, W_hh=Arg("tensor", same_dtype=True, fixed_last=True))),

    # --- robustness ----------------------------------------------------------------------------
    "companion.robustness.shift_images": Spec(
        robustness.shift_images, lambda g: dict(images=images(g), dy=1, dx=torch.tensor([0, 1, -1, 2, 0, 9])),
        dict(images=Arg("tensor", ok={"nan": "shifting copies pixels, nan ones too",
                                      "inf": "shifting copies pixels, inf ones too",
                                      "empty": "an empty batch shifts to an empty batch"}),
             dy=Arg("shift"), dx=Arg("index", paired=True, ok={"negative": "a shift to the left or up",
                                                                "empty": "the images' count decides"}))),
    "companion.robustness.rotate_images": Spec(
        robustness.rotate_images, lambda g: dict(images=images(g), degrees=30.0),
        dict(images=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}), degrees=REAL)),
    "companion.robustness.scale_images": Spec(
        robustness.scale_images, lambda g: dict(images=images(g), factor=1.5),
        dict(images=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}),
             factor=POS_REAL)),
    "companion.robustness.add_gaussian_noise": Spec(
        robustness.add_gaussian_noise, lambda g: dict(images=images(g), std=0.1, generator=gen(g)),
        dict(images=Arg("tensor", ok={"nan": "nan + noise is nan, kept by the clip", "inf": "clipped to 0 or 1",
                                      "empty": EMPTY_BATCH}),
             std=NONNEG_REAL, generator=OPT_G), check=_unit, random=True),
    "companion.robustness.saliency_map": Spec(
        robustness.saliency_map, lambda g: dict(model=small_cnn(g), images=images(g), labels=labels(g)),
        dict(model=INSTANCE, images=Arg("tensor", same_dtype=True), labels=Arg("index", paired=True, bound=10))),
    "companion.robustness.fgsm": Spec(
        robustness.fgsm, lambda g: dict(model=small_cnn(g), images=images(g), labels=labels(g), epsilon=0.1),
        dict(model=INSTANCE, images=Arg("tensor", same_dtype=True), labels=Arg("index", paired=True, bound=10),
             epsilon=NONNEG_REAL), check=_unit),
    "companion.robustness.occlusion_map": Spec(
        robustness.occlusion_map,
        lambda g: dict(model=small_cnn(g), images=images(g, 2), labels=labels(g, 2), patch=4, fill=0.0),
        dict(model=INSTANCE, images=Arg("tensor", same_dtype=True), labels=Arg("index", paired=True, bound=10),
             patch=Arg("int", minimum=1, also={"larger than the image": 9}), fill=REAL)),

    # --- source --------------------------------------------------------------------------------
    "companion.source.source_of": Spec(source.source_of, lambda g: dict(obj=cnn.flatten_size),
                                       dict(obj=Arg("instance", also={"outside the package": json.dumps}))),
    "companion.source.show_source": Spec(source.show_source, lambda g: dict(obj=cnn.CNN),
                                         dict(obj=Arg("instance", also={"outside the package": json.loads}))),

    # --- text ----------------------------------------------------------------------------------
    "companion.text.normalize": Spec(text.normalize, lambda g: dict(text="a\tb é"), dict(text=STR)),
    "companion.text.module_docstrings": Spec(text.module_docstrings, lambda g: dict(name="textwrap"),
                                             dict(name=Arg("str", also={"a path": "../etc/passwd"}))),
    "companion.text.load_docstrings": Spec(
        text.load_docstrings, lambda g: dict(split="validation", modules=("textwrap",)),
        dict(split=CHOICE, modules=Arg("any", also={"list": ["textwrap"], "no such module": ("no_such_module",),
                                                    "not str": (3,)}))),
    "companion.text.encode": Spec(text.encode, lambda g: dict(text="Return x."), dict(text=STR)),
    "companion.text.decode": Spec(text.decode, lambda g: dict(indices=torch.randint(97, (6,), generator=g)),
                                  dict(indices=Arg("index", bound=97, ok={"empty": "an empty text is ''"}))),
    "companion.text.unigram_bpc": Spec(text.unigram_bpc, lambda g: dict(train="abcab", validation="ab"),
                                       dict(train=STR, validation=Arg("str", also={"empty": ""}))),
    "companion.text.xz_bpc": Spec(text.xz_bpc, lambda g: dict(train="abcab" * 4, validation="abc"),
                                  dict(train=STR, validation=Arg("str", also={"empty": ""}))),
    "companion.text.bits": Spec(text.bits, lambda g: dict(nats=2.0), dict(nats=REAL)),

    # --- timing --------------------------------------------------------------------------------
    "companion.timing.time_calls": Spec(
        timing.time_calls, lambda g: dict(functions={"a": lambda: None, "b": lambda: 1}, rounds=2, number={"a": 1,
                                                                                                        "b": 2},
                                          warmup=0, statistic="median", device=None),
        dict(functions=Arg("any", also={"list": [lambda: None], "empty": {}, "not callable": {"a": 3}}),
             rounds=POS, number=Arg("int", minimum=1, also={"missing key": {"a": 1}}), warmup=NONNEG,
             statistic=CHOICE, device=DEVICE)),
    "companion.timing.time_call": Spec(timing.time_call, lambda g: dict(function=lambda: None, rounds=2),
                                       dict(function=CALLABLE, rounds=POS)),

    # --- toygan --------------------------------------------------------------------------------
    "companion.toygan.ring_centers": Spec(toygan.ring_centers, lambda g: dict(modes=5, radius=1.5,
                                                                             dtype=torch.float64),
                                          dict(modes=POS, radius=POS_REAL, dtype=Arg("dtype"))),
    "companion.toygan.ring_of_gaussians": Spec(
        toygan.ring_of_gaussians, lambda g: dict(n=7, modes=4, radius=2.0, std=0.1, generator=gen(g)),
        dict(n=POS, modes=POS, radius=POS_REAL, std=NONNEG_REAL, generator=OPT_G), random=True),
    "companion.toygan.ToyGenerator": Spec(toygan.ToyGenerator, lambda g: dict(latent_dim=2, hidden=4, depth=2,
                                                                              generator=gen(g)),
                                          dict(latent_dim=POS, hidden=POS, depth=POS, generator=OPT_G)),
    "companion.toygan.ToyGenerator.forward": Spec(
        lambda model, z: model(z), lambda g: dict(model=small_toy().G, z=torch.randn(5, 2, generator=g)),
        dict(z=NET_INPUT)),
    "companion.toygan.ToyDiscriminator": Spec(toygan.ToyDiscriminator, lambda g: dict(hidden=4, depth=2,
                                                                                      generator=gen(g)),
                                              dict(hidden=POS, depth=POS, generator=OPT_G)),
    "companion.toygan.ToyDiscriminator.forward": Spec(
        forward, lambda g: dict(model=small_toy().D, x=torch.randn(5, 2, generator=g)),
        dict(x=NET_INPUT)),
    "companion.toygan.ToyGAN": pair(toygan.ToyGAN, small_toy),
    "companion.toygan.ToyGAN.sample": sampling(small_toy),
    "companion.toygan.ToyGAN.probability_real": Spec(
        lambda model, x: model.probability_real(x), lambda g: dict(model=small_toy(), x=torch.randn(5, 2, generator=g)),
        dict(x=NET_INPUT), check=_unit),
    "companion.toygan.discriminator_grid": Spec(toygan.discriminator_grid,
                                                lambda g: dict(D=small_toy().D, extent=2.0, resolution=4),
                                                dict(D=INSTANCE, extent=POS_REAL, resolution=Arg("int", minimum=2)),
                                                check=_unit),
    "companion.toygan.ToyGANConfig": Spec(
        toygan.ToyGANConfig, lambda g: dict(steps=2, batch_size=8, loss="saturating", snapshot_every=1, lr=1e-3,
                                            betas=(0.5, 0.9), grid_extent=2.0, grid_resolution=4),
        dict(steps=POS, batch_size=POS, loss=CHOICE, snapshot_every=Arg("int", minimum=1, optional=True),
             lr=POS_REAL, betas=Arg("any", also={"list": [0.5, 0.9], "too large": (0.5, 1.5)}), grid_extent=POS_REAL,
             grid_resolution=Arg("int", minimum=2))),
    "companion.toygan.train_toy_gan": Spec(
        toygan.train_toy_gan,
        lambda g: dict(data=torch.randn(16, 2, generator=g), config=TOY_RUN, device=None, generator=gen(g),
                       progress=False),
        dict(data=Arg("tensor", fixed_last=True, also={"a sampler of the wrong shape": lambda n, g: torch.zeros(n, 3),
                                                       "a sampler of nan": lambda n, g: torch.full((n, 2), math.nan),
                                                       "a class": torch.Generator}),
             config=CONFIG, device=DEVICE, generator=OPT_G, progress=FLAG),
        check=_trained(toygan.ToyGAN), random=True),

    # --- training (the trainers' shared plumbing) ------------------------------------------------
    "companion.training.seed_generator": Spec(training.seed_generator, lambda g: dict(generator=gen(g)),
                                              dict(generator=OPT_G)),
    "companion.training.resolve_device": Spec(training.resolve_device, lambda g: dict(device="cpu", data=None),
                                              dict(device=DEVICE, data=Arg("any", optional=True))),
    "companion.training.weights_from": Spec(
        lambda generator, device: training.weights_from(generator, device).__enter__(),
        lambda g: dict(generator=gen(g), device=torch.device("cpu")),
        dict(generator=G, device=Arg("any", also={"str": "cpu-ish", "int": 3}))),
    "companion.training.eval_mode": Spec(lambda model: training.eval_mode(model).__enter__(),
                                         lambda g: dict(model=nn.Linear(2, 2)), dict(model=INSTANCE)),
    "companion.training.progress_bar": Spec(training.progress_bar,
                                            lambda g: dict(iterable=range(3), desc="steps", progress=False),
                                            dict(iterable=Arg("any", also={"int": 3}), desc=STR, progress=FLAG)),
    "companion.training.check_config": Spec(training.check_config,
                                            lambda g: dict(config=None, kind=vae.VAEConfig),
                                            dict(config=Arg("any", also={"other config": CLASSIFIER, "dict": {}}),
                                                 kind=Arg("any", also={"an instance": VAE_RUN, "str": "VAEConfig"}))),
    "companion.training.stop_if_diverged": Spec(
        lambda step, hint, loss: training.stop_if_diverged(step, hint, loss=loss),
        lambda g: dict(step=3, hint="lower the learning rate", loss=0.5),
        dict(step=NONNEG, hint=STR, loss=Arg("real", ok={"nan": "stopping a run whose loss is nan is its job",
                                                         "inf": "stopping a run whose loss is inf is its job"})),
        allowed=(FloatingPointError,)),
    "companion.training.update_average": Spec(
        training.update_average,
        lambda g: dict(averaged=nn.Linear(2, 2), model=nn.Linear(2, 2), decay=0.9, buffers=False),
        dict(averaged=Arg("instance", also={"a module of another shape": nn.Linear(3, 2)}), model=INSTANCE,
             decay=Arg("real", minimum=0, also={"one": 1.0}), buffers=FLAG),
        changes=("averaged",)),
    "companion.training.model_device": Spec(training.model_device, lambda g: dict(model=nn.Linear(2, 2), default=None),
                                            dict(model=INSTANCE, default=Arg("device", optional=True))),

    # --- vae -----------------------------------------------------------------------------------
    "companion.vae.gaussian_kl": Spec(
        vae.gaussian_kl, lambda g: dict(mu=torch.randn(4, 2, generator=g), logvar=torch.randn(4, 2, generator=g)),
        dict(mu=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}),
             logvar=Arg("tensor", same_dtype=True, paired=True, fixed_last=True,
                        ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}))),
    "companion.vae.reparameterize": Spec(
        vae.reparameterize,
        lambda g: dict(mu=torch.randn(4, 2, generator=g), logvar=torch.randn(4, 2, generator=g), generator=gen(g)),
        dict(mu=Arg("tensor", ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}),
             logvar=Arg("tensor", same_dtype=True, paired=True, fixed_last=True,
                        ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH}),
             generator=OPT_G), random=True),
    "companion.vae.VAEConfig": Spec(
        vae.VAEConfig, lambda g: dict(latent_dim=2, hidden=8, epochs=1, lr=1e-3, kl_warmup_epochs=0, kl_weight=0.5,
                                      sample_z=False),
        dict(latent_dim=POS, hidden=POS, epochs=POS, lr=POS_REAL, kl_warmup_epochs=NONNEG, kl_weight=NONNEG_REAL,
             sample_z=FLAG)),
    "companion.vae.VAE": Spec(vae.VAE, lambda g: dict(latent_dim=2, hidden=8, image_shape=(1, 4, 4)),
                              dict(latent_dim=POS, hidden=POS,
                                   image_shape=Arg("any", also={"two": (4, 4), "zero": (1, 0, 4), "bool": (1, True, 4),
                                                                "int": 16}))),
    "companion.vae.VAE.encode": Spec(lambda model, x: model.encode(x), lambda g: dict(model=small_vae(),
                                                                                      x=images(g, 3, 1, 4)),
                                     dict(x=Arg("tensor", fixed_last=True, ok={
                                         "nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH,
                                         "other_float": "x is converted to the encoder's dtype"}))),
    **{f"companion.vae.VAE.{name}": Spec(
        getattr(vae.VAE, name),
        lambda g: dict(self=small_vae(), z=torch.randn(3, 2, generator=g)),
        dict(z=Arg("tensor", fixed_last=True, ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH,
                                                  "other_float": "z is converted to the decoder's dtype"})))
       for name in ("decode_logits", "decode")},
    "companion.vae.VAE.forward": Spec(
        lambda model, x, generator: model(x, generator),
        lambda g: dict(model=small_vae(), x=images(g, 3, 1, 4), generator=gen(g)),
        dict(x=Arg("tensor", fixed_last=True, ok={"nan": PROPAGATES, "inf": PROPAGATES, "empty": EMPTY_BATCH,
                                                  "other_float": "x is converted to the encoder's dtype"}),
             generator=OPT_G), check=_unit, random=True),
    "companion.vae.VAE.elbo_terms": Spec(
        lambda model, x, generator: model.elbo_terms(x, generator),
        lambda g: dict(model=small_vae(), x=images(g, 3, 1, 4), generator=gen(g)),
        dict(x=Arg("tensor", fixed_last=True, ok={"empty": EMPTY_BATCH,
                                                  "other_float": "x is converted to the encoder's dtype"},
                   also={"above one": torch.full((2, 1, 4, 4), 2.0)}),
             generator=OPT_G), random=True),
    "companion.vae.VAE.negative_elbo": Spec(
        lambda model, x, n_samples, generator: model.negative_elbo(x, n_samples, generator),
        lambda g: dict(model=small_vae(), x=images(g, 3, 1, 4), n_samples=2, generator=gen(g)),
        dict(x=Arg("tensor", fixed_last=True, ok={"empty": EMPTY_BATCH,
                                                  "other_float": "x is converted to the encoder's dtype"},
                   also={"above one": torch.full((2, 1, 4, 4), 2.0)}),
             n_samples=POS, generator=OPT_G), random=True),
    "companion.vae.VAE.sample": sampling(small_vae, check=_unit),
    "companion.vae.pixel_means": Spec(vae.pixel_means, lambda g: dict(images=images(g)), dict(images=T), check=_unit),
    "companion.vae.independent_pixels_nll": Spec(
        vae.independent_pixels_nll, lambda g: dict(train_images=images(g), images=images(g, 3)),
        dict(train_images=Arg("tensor", fixed_last=True), images=Arg("tensor", fixed_last=True)),
        check=_positive),
    "companion.vae.train_vae": Spec(
        vae.train_vae, lambda g: dict(images=images(g, 8, 1, 4), config=VAE_RUN, device=None, generator=gen(g),
                                      progress=False),
        dict(images=Arg("tensor", also={"above one": torch.full((4, 1, 4, 4), 2.0)}), config=CONFIG,
             device=DEVICE, generator=OPT_G, progress=FLAG),
        check=_trained(vae.VAE), random=True),

    # --- validation (the checks themselves: a bad value is what they exist to refuse) --------------
    "companion.validation.integer": Spec(validation.integer, lambda g: dict(value=3, name="n", minimum=0),
                                         dict(value=Arg("int", minimum=0))),
    "companion.validation.positive_int": Spec(validation.positive_int, lambda g: dict(value=3, name="n"),
                                              dict(value=POS)),
    "companion.validation.real": Spec(validation.real, lambda g: dict(value=0.5, name="x", above=0.0, below=1.0),
                                      dict(value=Arg("real", above=0.0, also={"one": 1.0}))),
    "companion.validation.betas": Spec(validation.betas, lambda g: dict(value=(0.5, 0.9)),
                                       dict(value=Arg("any", also={"list": [0.5, 0.9], "too large": (0.5, 1.0)}))),
    "companion.validation.one_of": Spec(validation.one_of, lambda g: dict(value="a", name="x", choices=("a", "b")),
                                        dict(value=CHOICE)),
    "companion.validation.flag": Spec(validation.flag, lambda g: dict(value=False, name="x"), dict(value=FLAG)),
    "companion.validation.instance": Spec(validation.instance,
                                          lambda g: dict(value=3, name="x", kind=int, what="an int"),
                                          dict(value=Arg("any", also={"str": "3"}))),
    "companion.validation.generator": Spec(validation.generator, lambda g: dict(value=gen(g)), dict(value=OPT_G)),
    "companion.validation.cpu_generator": Spec(validation.cpu_generator, lambda g: dict(value=gen(g)),
                                               dict(value=OPT_G)),
    "companion.validation.tensor": Spec(
        lambda value: validation.tensor(value, "x", ndim=2, layout="(N, D)", floating=True, min_size=1, finite=True),
        lambda g: dict(value=torch.randn(3, 2, generator=g)),
        dict(value=Arg("tensor", ok={"zero_last": "min_size asks about the first axis only"}))),
    "companion.validation.finite_values": Spec(
        lambda value: validation.finite_values(value, "x"), lambda g: dict(value=torch.randn(3, generator=g)),
        dict(value=Arg("tensor", ok=dict.fromkeys(("empty", "int64", "bool", "float16", "rank_up", "rank_down"),
                                                  "only finiteness is checked: any shape, any dtype")))),
    "companion.validation.in_unit_interval": Spec(
        lambda value: validation.in_unit_interval(value, "x"), lambda g: dict(value=torch.rand(3, generator=g)),
        dict(value=Arg("tensor", nonneg=True, ok=dict.fromkeys(
            ("empty", "int64", "bool", "float16", "rank_up", "rank_down"), "only the range is checked")))),
    "companion.validation.class_indices": Spec(
        lambda value: validation.class_indices(value, "labels", n=4, num_classes=3),
        lambda g: dict(value=labels(g, 4, 3)), dict(value=Arg("index", paired=True, bound=3))),
    "companion.validation.like": Spec(
        lambda value, reference: validation.like(value, "x", reference, "y"),
        lambda g: dict(value=torch.randn(2, generator=g), reference=torch.randn(3, generator=g)),
        dict(value=Arg("tensor", same_dtype=True, ok=dict.fromkeys(
            ("nan", "inf", "empty", "rank_up", "rank_down", "zero_last"), "only dtype and device are compared")))),
    "companion.validation.distinct_memory": Spec(
        lambda value: validation.distinct_memory(value, "x"), lambda g: dict(value=torch.randn(3, generator=g)),
        dict(value=Arg("tensor", ok={**dict.fromkeys(
            ("nan", "inf", "empty", "zero_last", "rank_up", "rank_down", "int64", "bool", "float16"),
            "only the memory layout is checked"), "expanded": "refusing an expanded view is its job"}))),
}

EXEMPT: dict[str, str] = {
    "companion.exercises.*": "companion/exercises.py belongs to a change in progress elsewhere; every check_* turns "
                             "whatever a student's answer does into ExerciseError (an AssertionError) with a hint, by "
                             "design, and tests/test_exercises.py covers them",
    "companion.glossary.Term": "a record of the term list (glossary.py is left alone here); tests/test_editions.py "
                               "checks its contents",
    "companion.metrics.ModeCoverage": "the record that covered_modes returns; readers read it, they do not build it",
    "companion.validation.describe": "describes any value whatever, by design: there is no bad input",
}
