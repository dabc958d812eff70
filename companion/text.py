"""A character corpus that ships with Python: the docstrings of part of the standard library.

The text generator of the notebook (§1.2.4's recurrent network, trained on characters) needs real
text that nothing has to download. Every Python carries its standard library's source; `ast`
reads the docstrings of its modules, classes and functions. Parsing the whole library takes
seconds, so a fixed, sorted list of modules rich in docstrings is used (`MODULES`, about 0.5 M
characters). Modules that a Python version lacks are skipped, and the text itself differs between
versions, so figures computed from it are asserted (bpc ≤ 2.0), not compared digit for digit.

The text is normalised to a fixed alphabet (`ALPHABET`): newline, the 95 printable ASCII
characters, and `PLACEHOLDER` for anything else; tabs become four spaces. Every tenth docstring
goes to the validation split, so both splits cover every module.

Two references measure how predictable the validation text is, in bits per character (bpc):
a unigram model (character frequencies of the training split; Laplace smoothing) and xz (LZMA)
compressing the validation text after the training text, `(|xz(train + val)| − |xz(train)|) · 8 / |val|`.
"""

from __future__ import annotations

import ast
import lzma
import math
import sysconfig
from functools import lru_cache
from pathlib import Path

import torch

from companion import validation as check

MODULES = (
    "argparse", "base64", "bdb", "bz2", "calendar", "cmd", "code", "codecs", "configparser", "contextlib",
    "difflib", "doctest", "fileinput", "fractions", "ftplib", "functools", "gettext", "graphlib", "heapq",
    "imaplib", "inspect", "ipaddress", "lzma", "mimetypes", "numbers", "os", "pdb", "pkgutil", "poplib",
    "py_compile", "queue", "random", "shelve", "shutil", "site", "smtplib", "socket", "socketserver", "ssl",
    "statistics", "string", "subprocess", "tempfile", "textwrap", "threading", "timeit", "traceback", "turtle",
    "typing", "uuid", "wave", "weakref",
)  # fmt: skip
PLACEHOLDER = "¤"
ALPHABET = "\n" + "".join(chr(i) for i in range(32, 127)) + PLACEHOLDER  # 97 characters
SPLITS = ("train", "validation")
VALIDATION_EVERY = 10
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def normalize(text: str) -> str:
    """Map text onto `ALPHABET`: tabs -> 4 spaces, other characters outside it -> `PLACEHOLDER`."""
    check.instance(text, "text", str, "a str")
    text = text.replace("\t", "    ").replace("\r\n", "\n")
    return "".join(c if c in _INDEX else PLACEHOLDER for c in text)


def module_docstrings(name: str) -> list[str]:
    """The docstrings of a standard-library module (the module's, then classes' and functions'), cleaned
    of indentation by `ast.get_docstring`, in `ast.walk` order. Missing module: an empty list."""
    check.instance(name, "name", str, "a str, the name of a standard-library module")
    if not name.isidentifier():
        raise ValueError(f"expected name to be a module name such as 'textwrap', got {name!r}")
    path = Path(sysconfig.get_paths()["stdlib"]) / f"{name}.py"
    if not path.is_file():
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [doc for node in ast.walk(tree) if isinstance(node, kinds) and (doc := ast.get_docstring(node))]


@lru_cache(maxsize=4)
def _corpus(modules: tuple[str, ...]) -> dict[str, str]:
    parts: dict[str, list[str]] = {"train": [], "validation": []}
    for name in modules:
        for j, doc in enumerate(module_docstrings(name)):
            split = "validation" if j % VALIDATION_EVERY == VALIDATION_EVERY - 1 else "train"
            parts[split].append(normalize(doc) + "\n\n")
    return {split: "".join(docs) for split, docs in parts.items()}


def load_docstrings(split: str, modules: tuple[str, ...] = MODULES) -> str:
    """The normalised docstring text of one split, "train" or "validation" (every tenth docstring).

    The same on every call (cached); about 0.48 M training and 0.05 M validation characters with
    Python 3.11's library.
    """
    check.one_of(split, "split", SPLITS)
    if not isinstance(modules, tuple) or not all(isinstance(m, str) for m in modules):
        raise TypeError(f"expected modules to be a tuple of str, got {check.describe(modules)}")
    text = _corpus(tuple(sorted(modules)))[split]
    if not text:
        raise ValueError(f"expected modules with docstrings in this Python's standard library, got none in {modules!r}")
    return text


def encode(text: str) -> torch.Tensor:
    """Text -> int64 indices (len(text),) into `ALPHABET` (the text is normalised first)."""
    return torch.tensor([_INDEX[c] for c in normalize(text)], dtype=torch.int64)


def decode(indices: torch.Tensor) -> str:
    """Indices (T,) into `ALPHABET` -> text."""
    check.tensor(indices, "indices", ndim=1, layout="(T,)", dtype=torch.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= len(ALPHABET)):
        raise ValueError(f"expected indices in [0, {len(ALPHABET)}), got values in [{int(indices.min())}, "
                         f"{int(indices.max())}]")
    return "".join(ALPHABET[i] for i in indices.tolist())


def _check_texts(train: str, validation: str) -> None:
    check.instance(train, "train", str, "a str")
    check.instance(validation, "validation", str, "a str")
    if not validation:
        raise ValueError("expected a non-empty validation text, got ''")


def unigram_bpc(train: str, validation: str) -> float:
    """Bits per character of `validation` under the character frequencies of `train` (add-one smoothing)."""
    _check_texts(train, validation)
    counts = torch.bincount(encode(train), minlength=len(ALPHABET)).double() + 1.0  # (97,)
    log2_p = torch.log2(counts / counts.sum())
    return float(-log2_p[encode(validation)].mean())


def xz_bpc(train: str, validation: str) -> float:
    """Bits per character that xz (LZMA, preset 9 extreme) spends on `validation` after seeing `train`."""
    def size(text: str) -> int:
        return len(lzma.compress(text.encode("ascii", "replace"), preset=9 | lzma.PRESET_EXTREME))

    _check_texts(train, validation)
    return (size(train + validation) - size(train)) * 8 / len(validation)


def bits(nats: float) -> float:
    """Nats -> bits (a cross-entropy measured with natural logarithms, per character)."""
    return check.real(nats, "nats") / math.log(2)
