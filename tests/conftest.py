"""Shared test settings: one torch thread, and the hypothesis profiles of the property tests.

HYPOTHESIS_PROFILE=ci (the default) runs a bounded, derandomised number of examples per property, so that
the suite takes the same time and finds the same things on every run; HYPOTHESIS_PROFILE=thorough runs
many more, freshly random, by hand: `HYPOTHESIS_PROFILE=thorough pytest tests/properties`.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
          HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=2, deadline=None, database=None, derandomize=True,
                          suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("thorough", max_examples=40, deadline=None, database=None, suppress_health_check=_QUIET,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread, as the notebooks use: the tensors here are tiny, and on a shared 2-core
    machine two threads made these tests 5-10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_sessionfinish(session):
    """On a pytest-xdist worker: hand this worker's count of generated cases to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from tests.properties.framework import GENERATED

        workeroutput["generated_cases"] = GENERATED["cases"]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """On the controller: add up the workers' counts (pytest-xdist calls this as each worker ends)."""
    from tests.properties.framework import GENERATED

    GENERATED["cases"] += getattr(node, "workeroutput", {}).get("generated_cases", 0)


def pytest_terminal_summary(terminalreporter):
    """How many cases the property tests generated in this run (they count themselves)."""
    from tests.properties.framework import GENERATED

    if GENERATED["cases"]:
        terminalreporter.write_line(f"property tests: {GENERATED['cases']} generated cases "
                                    f"(hypothesis profile {settings().max_examples} examples per property, "
                                    f"{os.environ.get('HYPOTHESIS_PROFILE', 'ci')})")
