"""Bad input to any public callable: a clear ValueError or TypeError, never a torch-internal error or a hang,
and the arguments left as they were. One test per (callable, argument, kind of mistake); hypothesis draws the
values (the data, where the nan goes, which wrong number) within it.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.properties.framework import VIEWS, clear_error, corruptions, expected_error, run, same
from tests.properties.specs import SPECS


def _items():
    items = []
    for name, spec in SPECS.items():
        made = spec.make(torch.Generator().manual_seed(0))
        for arg, description in spec.args.items():
            items += [(name, arg, corruption) for corruption in corruptions(description, made[arg])]
    return items


ITEMS = _items()


def pytest_generate_tests(metafunc):
    # Parametrised here rather than with @pytest.mark.parametrize: hypothesis's pytest plugin wraps the settings
    # of a test that carries that mark once per item, and 3,000 items nest them deeper than Python's recursion limit.
    if "corruption" in metafunc.fixturenames:
        metafunc.parametrize("name, arg, corruption", ITEMS,
                             ids=[f"{n.removeprefix('companion.')}-{a}-{c}" for n, a, c in ITEMS])


def _made(spec, seed):
    return spec.make(torch.Generator().manual_seed(seed))


def verdict(spec, name, arg, corruption, bad, seed, outcome):
    """What is wrong with the outcome of the call with one bad argument, or None if nothing is."""
    error = outcome.error
    changed = [a for a in outcome.changed if error is not None or a not in spec.changes]
    if changed:
        return f"{name} changed its argument(s) {changed}"
    reason = spec.args[arg].ok.get(corruption)
    if corruption in VIEWS:
        # A view is valid input: the same answer as for a contiguous copy, or the same clear refusal.
        reference = run(spec, {**_made(spec, seed), arg: bad.contiguous()})
        if error is not None and not (clear_error(error) or isinstance(error, spec.allowed)):
            return f"{name} on a {corruption} view raised {type(error).__name__}: {error}"
        if reference.error is None and error is None and not same(outcome.result, reference.result, tolerance=1e-4):
            return f"{name}: a {corruption} view gives another answer than its contiguous copy"
        if (reference.error is None) != (error is None) and not reason:
            return f"{name} treats a {corruption} view and its copy differently: {error or reference.error}"
        return None
    if error is None:
        return None if reason else f"{name} accepted {arg} = <{corruption}> without complaint"
    if isinstance(error, spec.allowed):
        return None  # the designed answer, e.g. a failed check's AssertionError
    if not clear_error(error):
        return f"{name}({arg}=<{corruption}>) raised {type(error).__name__}: {error}"
    wanted = expected_error(spec.args[arg], corruption)
    if wanted is not None and not isinstance(error, wanted):
        return (f"{name}({arg}=<{corruption}>) raised {type(error).__name__} where {wanted.__name__} is the "
                f"convention: {error}")
    return None


@given(data=st.data())
def test_bad_input_is_refused_clearly(name, arg, corruption, data):
    spec = SPECS[name]
    seed = data.draw(st.integers(0, 2**20), label="seed")
    kwargs = _made(spec, seed)
    bad = corruptions(spec.args[arg], kwargs[arg])[corruption](kwargs[arg], data)
    kwargs[arg] = bad
    problem = verdict(spec, name, arg, corruption, bad, seed, run(spec, kwargs))
    hole = spec.args[arg].holes.get(corruption)
    if hole:
        assert problem, f"{name}({arg}=<{corruption}>) is no longer a hole: remove it from the spec's holes"
        pytest.xfail(f"known hole, left alone here: {hole}")
    assert problem is None, problem
