"""Every public callable of companion is covered by a property spec, or exempt with a stated reason."""

import fnmatch

from tests.properties.specs import EXEMPT, SPECS, public_callables


def test_every_public_callable_is_covered_or_exempt_with_a_reason():
    exempt = [name for name in public_callables() if any(fnmatch.fnmatch(name, pattern) for pattern in EXEMPT)]
    missing = sorted(set(public_callables()) - set(SPECS) - set(exempt))
    assert not missing, f"public callables with no property spec and no stated reason: {missing}"
    assert all(reason.strip() for reason in EXEMPT.values())


def test_the_specs_name_only_callables_that_exist():
    stale = sorted(set(SPECS) - set(public_callables()))
    assert not stale, f"specs of callables that the package no longer has: {stale}"


def test_every_argument_that_is_described_exists():
    import inspect

    for name, spec in SPECS.items():
        made = spec.make(__import__("torch").Generator().manual_seed(0))
        unknown = set(spec.args) - set(made)
        assert not unknown, f"{name}: described but not made: {unknown}"
        parameters = inspect.signature(spec.call).parameters
        assert set(made) <= set(parameters) or any(p.kind == p.VAR_KEYWORD for p in parameters.values()), name
