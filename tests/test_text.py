"""The docstring corpus: normalisation, encoding, the deterministic split and the two references."""

import math

import pytest
import torch

from companion.text import (
    ALPHABET,
    PLACEHOLDER,
    decode,
    encode,
    load_docstrings,
    module_docstrings,
    normalize,
    unigram_bpc,
    xz_bpc,
)


def test_alphabet_is_newline_printable_ascii_and_a_placeholder():
    assert len(ALPHABET) == 97 and len(set(ALPHABET)) == 97
    assert ALPHABET[0] == "\n" and ALPHABET[-1] == PLACEHOLDER and " " in ALPHABET and "~" in ALPHABET


def test_normalize_maps_tabs_and_foreign_characters():
    assert normalize("a\tb\r\nc") == "a    b\nc"
    assert normalize("naïve → 神") == f"na{PLACEHOLDER}ve {PLACEHOLDER} {PLACEHOLDER}"
    with pytest.raises(TypeError, match="text to be a str"):
        normalize(b"bytes")


def test_encode_decode_round_trip():
    text = "Return the sum of x and y.\n>>> add(1, 2)\n3\n"
    ids = encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (len(text),)
    assert decode(ids) == text
    assert decode(encode("é")) == PLACEHOLDER
    with pytest.raises(ValueError, match=r"in \[0, 97\)"):
        decode(torch.tensor([0, 97]))
    with pytest.raises(TypeError, match="int64"):
        decode(torch.tensor([0.0]))


def test_module_docstrings_reads_the_standard_library():
    docs = module_docstrings("textwrap")
    assert docs[0].startswith("Text wrapping and filling.")  # the module's own docstring comes first
    assert any(doc.startswith("Remove any common leading whitespace") for doc in docs)  # textwrap.dedent
    assert module_docstrings("no_such_module_here") == []


def test_corpus_split_is_deterministic_disjoint_and_in_the_alphabet():
    train, validation = load_docstrings("train"), load_docstrings("validation")
    assert train == load_docstrings("train")
    assert len(train) > 100_000 and len(validation) > 10_000
    assert 0.05 < len(validation) / (len(train) + len(validation)) < 0.15  # every tenth docstring
    assert set(train) | set(validation) <= set(ALPHABET)
    first_validation_doc = validation.split("\n\n")[0]
    assert len(first_validation_doc) > 20 and first_validation_doc not in train


def test_corpus_rejects_bad_arguments():
    with pytest.raises(ValueError, match="one of \\('train', 'validation'\\)"):
        load_docstrings("test")
    with pytest.raises(TypeError, match="tuple of str"):
        load_docstrings("train", modules=["os"])
    with pytest.raises(ValueError, match="expected modules with docstrings"):
        load_docstrings("train", modules=("no_such_module_here",))


def test_unigram_bpc_matches_a_hand_count():
    # train: 50 'a', 50 'b'; with add-one smoothing over 97 characters p(a) = 51 / 197.
    assert unigram_bpc("ab" * 50, "aab") == pytest.approx(-math.log2(51 / 197))
    # A text that the model has seen nothing of costs log2(197) bits per character.
    assert unigram_bpc("ab" * 50, "zz") == pytest.approx(math.log2(197))


def test_xz_bpc_is_low_for_repeated_text_and_high_for_random_text():
    g = torch.Generator().manual_seed(0)
    random_text = decode(torch.randint(1, 96, (4000,), generator=g))
    assert xz_bpc(random_text, random_text) < 0.2  # the validation text is a copy of the training text
    assert xz_bpc("x" * 1000, random_text) > 5.5  # uniform over 95 characters: log2(95) = 6.57
    with pytest.raises(ValueError, match="non-empty"):
        xz_bpc("abc", "")
