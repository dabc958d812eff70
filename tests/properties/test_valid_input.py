"""Valid input: every public callable answers, leaves its arguments alone and keeps its stated promises
(shapes, [0, 1] ranges, the same answer for the same generator seed, the input's dtype); a few core
functions over shapes and values that hypothesis draws.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from companion import conv, metrics, rnn, robustness
from tests.helpers import TOLERANCE
from tests.properties.framework import run, same
from tests.properties.specs import SPECS

RANDOM = [name for name, spec in SPECS.items() if spec.random]


def pytest_generate_tests(metafunc):
    # Not @pytest.mark.parametrize: hypothesis's plugin would nest the settings once per item (see test_bad_input.py).
    if "name" in metafunc.fixturenames:
        names = RANDOM if "random" in metafunc.function.__name__ else sorted(SPECS)
        metafunc.parametrize("name", names, ids=[n.removeprefix("companion.") for n in names])


@given(seed=st.integers(0, 2**20))
def test_a_valid_call_answers_and_leaves_its_arguments_alone(name, seed):
    spec = SPECS[name]
    outcome = run(spec, spec.make(torch.Generator().manual_seed(seed)))
    assert outcome.error is None, f"{name} refused valid input: {type(outcome.error).__name__}: {outcome.error}"
    changed = sorted(set(outcome.changed) - set(spec.changes))
    assert not changed, f"{name} changed its argument(s) {changed}"
    if spec.check is not None:
        spec.check(outcome.result, None)


@given(seed=st.integers(0, 2**20))
def test_the_same_random_generator_seed_gives_the_same_answer(name, seed):
    spec = SPECS[name]
    first, second = (run(spec, spec.make(torch.Generator().manual_seed(seed))) for _ in range(2))
    assert first.error is None and second.error is None
    assert same(first.result, second.result), f"{name} is not determined by its generator"


DTYPES = st.sampled_from([torch.float32, torch.float64])


@given(N=st.integers(1, 3), C=st.integers(1, 3), C_out=st.integers(1, 3), H=st.integers(1, 9), W=st.integers(1, 9),
       kH=st.integers(1, 4), kW=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2),
       dilation=st.integers(1, 2), dtype=DTYPES, bias=st.booleans())
def test_conv2d_has_the_shape_of_the_formula_the_dtype_of_its_input_and_torchs_values(
        N, C, C_out, H, W, kH, kW, stride, padding, dilation, dtype, bias):
    assume(dilation * (kH - 1) + 1 <= H + 2 * padding and dilation * (kW - 1) + 1 <= W + 2 * padding)
    g = torch.Generator().manual_seed(N * 1000 + H * 10 + W)
    x = torch.randn(N, C, H, W, generator=g, dtype=dtype)
    weight = torch.randn(C_out, C, kH, kW, generator=g, dtype=dtype)
    b = torch.randn(C_out, generator=g, dtype=dtype) if bias else None
    shape = (N, C_out, conv.conv_output_size(H, kH, stride, padding, dilation),
             conv.conv_output_size(W, kW, stride, padding, dilation))
    for impl in (conv.conv2d, conv.conv2d_naive):
        out = impl(x, weight, b, stride, padding, dilation)
        assert out.shape == shape and out.dtype == dtype
        torch.testing.assert_close(out, F.conv2d(x, weight, b, stride, padding, dilation), **TOLERANCE[dtype])


@given(T=st.integers(1, 6), N=st.integers(1, 3), D=st.integers(1, 4), H=st.integers(1, 5), O=st.integers(1, 3),
       dtype=DTYPES)
def test_rnn_shapes_and_dtypes_follow_the_inputs(T, N, D, H, O, dtype):
    g = torch.Generator().manual_seed(T * 100 + H)
    p = [torch.randn(*shape, generator=g, dtype=dtype) for shape in ((T, N, D), (N, H), (H, D), (H, H), (H,), (O, H),
                                                                      (O,))]
    h, y = rnn.rnn_forward(*p)
    assert h.shape == (T, N, H) and y.shape == (T, N, O) and h.dtype == y.dtype == dtype
    assert h.abs().max() <= 1  # a tanh state
    grads = rnn.rnn_backward(*p, torch.ones(T, N, O, dtype=dtype))
    assert all(grads[name].shape == tensor.shape and grads[name].dtype == dtype
               for name, tensor in zip(rnn.GRAD_KEYS, [p[2], p[3], p[4], p[5], p[6], p[1]], strict=True))


@given(dy=st.integers(-9, 9), dx=st.integers(-9, 9), dtype=DTYPES)
def test_shifting_there_and_back_keeps_exactly_the_pixels_that_stayed_in_the_frame(dy, dx, dtype):
    x = torch.rand(3, 2, 8, 7, generator=torch.Generator().manual_seed(dy * 31 + dx), dtype=dtype)
    back = robustness.shift_images(robustness.shift_images(x, dy, dx), -dy, -dx)
    mask = robustness.shift_images(robustness.shift_images(torch.ones_like(x), dy, dx), -dy, -dx)
    assert back.dtype == dtype and torch.equal(back, x * mask)
    per_image = robustness.shift_images(x, torch.full((3,), dy), torch.full((3,), dx))
    assert torch.equal(per_image, robustness.shift_images(x, dy, dx))


@given(N=st.integers(1, 40), K=st.integers(2, 6), seed=st.integers(0, 1000))
def test_accuracy_is_a_share_and_label_entropy_stays_within_zero_and_ln_k(N, K, seed):
    g = torch.Generator().manual_seed(seed)
    inputs, labels = torch.randn(N, 3, generator=g), torch.randint(K, (N,), generator=g)
    scores = torch.randn(N, K, generator=g)
    model = {id(inputs): scores}
    accuracy = metrics.accuracy(lambda batch: model[id(inputs)][:len(batch)], inputs, labels, batch_size=N)
    assert 0 <= accuracy <= 1 and accuracy == (scores.argmax(1) == labels).double().mean().item()
    entropy = metrics.label_entropy(labels, num_classes=K)
    assert 0 <= entropy <= math.log(K) + 1e-12
    assert metrics.label_entropy(torch.arange(K * 3) % K) == pytest.approx(math.log(K))


@given(N=st.integers(3, 30), D=st.integers(1, 4), seed=st.integers(0, 1000), dtype=DTYPES)
def test_frechet_distance_is_zero_for_a_set_and_itself_symmetric_and_not_negative(N, D, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(N, D, generator=g, dtype=dtype), 1 + 2 * torch.randn(N + 2, D, generator=g, dtype=dtype)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-5)
    d_ab, d_ba = metrics.frechet_distance(a, b), metrics.frechet_distance(b, a)
    assert d_ab >= 0 and d_ab == pytest.approx(d_ba, rel=1e-6, abs=1e-9)
