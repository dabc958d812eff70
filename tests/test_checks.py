"""The notebooks' check helpers: a verdict line on success, an AssertionError that says why on failure."""

import numpy as np
import pytest
import torch

from companion.checks import check, check_below, check_close, max_abs_difference


def test_check_prints_the_claim_and_value(capsys):
    check("accuracy ≥ 0.99", 0.995 >= 0.99, "0.9950")
    assert capsys.readouterr().out == "✓ accuracy ≥ 0.99 (0.9950)\n"


def test_check_fails_with_the_claim_and_value():
    with pytest.raises(AssertionError, match=r"✗ accuracy ≥ 0.99 \(0.9000\)"):
        check("accuracy ≥ 0.99", 0.9 >= 0.99, "0.9000")


def test_check_accepts_numpy_and_one_element_tensor_bools(capsys):
    check("numpy bool", np.bool_(True))
    check("tensor bool", torch.tensor(True))
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("holds", [1, 0.0, None, "yes", torch.tensor([True, True]), torch.tensor(1.0)])
def test_check_refuses_what_is_not_a_single_bool(holds):
    with pytest.raises(TypeError, match="expected holds to be a bool"):
        check("claim", holds)


def test_check_close_prints_the_bound_not_the_difference(capsys):
    a = torch.tensor([1.0, 2.0], dtype=torch.float64)
    check_close("same", a, a + 3.3e-16, atol=1e-12)
    out = capsys.readouterr().out
    assert out == "✓ same: max |difference| ≤ 1e-12\n"
    assert "3.3e-16" not in out and "e-16" not in out


def test_check_close_with_relative_tolerance(capsys):
    check_close("relative", np.array([100.0]), np.array([100.001]), rtol=1e-4)
    assert capsys.readouterr().out == "✓ relative: max |difference| ≤ 1e-04·|value|\n"


def test_check_close_fails_with_the_difference():
    with pytest.raises(AssertionError, match=r"✗ off: max \|difference\| = 0.5, above 1e-12"):
        check_close("off", torch.tensor([1.0]), torch.tensor([1.5]), atol=1e-12)


def test_check_close_fails_on_nan():
    with pytest.raises(AssertionError, match="✗ nan"):
        check_close("nan", torch.tensor([float("nan")]), torch.tensor([0.0]), atol=1.0)


def test_check_close_needs_a_tolerance_and_matching_shapes():
    with pytest.raises(ValueError, match="atol or rtol must be positive"):
        check_close("exact", 1.0, 1.0)
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        check_close("shapes", torch.zeros(2), torch.zeros(3), atol=1e-6)
    with pytest.raises(ValueError, match="atol to be a finite number"):
        check_close("negative", 1.0, 1.0, atol=-1.0)
    with pytest.raises(TypeError, match="tensor, numpy array or number"):
        check_close("list", [1.0], [1.0], atol=1e-6)


def test_check_below_prints_the_bound_only(capsys):
    check_below("relative error", 2.2e-16, 1e-12)
    assert capsys.readouterr().out == "✓ relative error < 1e-12\n"
    with pytest.raises(AssertionError, match=r"✗ relative error: 0.001, not below 1e-12"):
        check_below("relative error", 1e-3, 1e-12)
    with pytest.raises(AssertionError, match="nan"):
        check_below("relative error", float("nan"), 1e-12)
    with pytest.raises(ValueError, match="positive"):
        check_below("relative error", 0.0, 0.0)


def test_max_abs_difference_is_float64():
    a = torch.tensor([1.0], dtype=torch.float32)
    assert max_abs_difference(a, torch.tensor([1.0 + 2**-30], dtype=torch.float64)) == pytest.approx(2**-30)
    assert max_abs_difference(torch.zeros(0), torch.zeros(0)) == 0.0


@pytest.mark.parametrize("tolerance", [True, None, "0.5"])
def test_a_tolerance_or_bound_that_is_not_a_number_is_a_type_error(tolerance):
    with pytest.raises(TypeError, match="expected atol to be a finite number"):
        check_close("claim", 1.0, 1.0, atol=tolerance, rtol=1e-6)
    with pytest.raises(TypeError, match="expected bound to be a positive number"):
        check_below("claim", 0.5, tolerance)


def test_an_infinite_bound_and_a_tensor_without_data_are_refused():
    with pytest.raises(ValueError, match="expected bound to be a positive finite number, got inf"):
        check_below("claim", 0.5, float("inf"))
    with pytest.raises(ValueError, match="expected actual on a device that holds data"):
        max_abs_difference(torch.zeros(2, device="meta"), torch.zeros(2))
