"""The package's one shape, checked by inspection: every trainer, wherever it is defined, has the signature

    train_X(data..., config=None, *, device=None, generator=None, progress=True, <extras>) -> (model, history)

with a frozen config dataclass, and the package docstring says so. A new trainer is covered the day it is added.
"""

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import companion

MODULES = [importlib.import_module(f"companion.{info.name}") for info in pkgutil.iter_modules(companion.__path__)]
TRAINERS = {f"{module.__name__}.{name}": function for module in MODULES
            for name, function in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("train_") and function.__module__ == module.__name__}
P = inspect.Parameter


def test_the_trainers_are_found():
    names = {name.rsplit(".", 1)[1] for name in TRAINERS}
    assert {"train_mlp", "train_classifier", "train_gan", "train_toy_gan", "train_vae", "train_charrnn"} <= names


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_every_trainer_has_the_one_shape(name):
    function = TRAINERS[name]
    parameters = list(inspect.signature(function).parameters.values())
    kinds = [p.kind for p in parameters]
    assert P.VAR_POSITIONAL not in kinds and P.VAR_KEYWORD not in kinds, f"{name}: no *args or **kwargs"
    positional = [p for p in parameters if p.kind == P.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional][-1] == "config", f"{name}: the last positional parameter is config"
    data = positional[:-1]
    assert 1 <= len(data) <= 2 and all(p.default is P.empty for p in data), f"{name}: one or two data parameters"
    assert positional[-1].default is None, f"{name}: config=None"
    keyword = {p.name: p.default for p in parameters if p.kind == P.KEYWORD_ONLY}
    assert {"device": None, "generator": None, "progress": True}.items() <= keyword.items(), name
    assert str(inspect.signature(function).return_annotation).startswith("tuple["), f"{name}: -> (model, history)"


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_every_trainer_config_is_a_frozen_validated_dataclass(name):
    function = TRAINERS[name]
    annotation = str(inspect.signature(function).parameters["config"].annotation)
    config_name = annotation.split("|")[0].strip()
    config = vars(inspect.getmodule(function))[config_name]
    assert dataclasses.is_dataclass(config) and config.__dataclass_params__.frozen, config_name
    assert config_name.endswith("Config")
    first_int = next(f.name for f in dataclasses.fields(config) if f.type == "int")
    with pytest.raises(TypeError, match=f"expected {first_int}"):
        config(**{first_int: True})  # every config checks its fields: True is not a count


def test_the_package_docstring_states_the_shape_and_the_tiers():
    doc = companion.__doc__
    assert "train_X(data..., config=None, *, device=None, generator=None, progress=True) -> (model, history)" in doc
    for tier in ("From-scratch code", "Models and trainers", "Measurements", "Notebook support"):
        assert tier in doc
    for name in TRAINERS:
        assert f"`{name.rsplit('.', 1)[1]}`" in doc, f"the docstring names {name}"
