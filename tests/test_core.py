"""The foundation every chapter relies on: data splits, seeding, device choice, CJK figures."""

import warnings

import numpy as np
import pytest
import torch

import companion
from companion.data import load_digits, load_photo, validation_split


@pytest.mark.parametrize("split, n", [("train", 1437), ("test", 360)])
def test_digit_split_sizes_types_and_ranges(split, n):
    images, labels = load_digits(split)
    assert images.shape == (n, 1, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))


def test_digit_split_is_stratified_disjoint_and_complete():
    from sklearn.datasets import load_digits as sklearn_digits

    train, test = load_digits("train"), load_digits("test")
    train_counts = torch.bincount(train[1], minlength=10).double()
    test_counts = torch.bincount(test[1], minlength=10).double()
    ratio = test_counts / (train_counts + test_counts)
    assert torch.all((ratio - 0.2).abs() < 0.01), ratio
    # Together the two splits are exactly the 1,797 digits, each once.
    everything = np.sort((sklearn_digits().images.reshape(1797, 64)).astype(np.float32) / 16.0, axis=0)
    both = np.sort(torch.cat([train[0], test[0]]).reshape(-1, 64).numpy(), axis=0)
    np.testing.assert_array_equal(everything, both)


def test_digit_split_is_deterministic_and_returns_fresh_tensors():
    first, labels = load_digits("train")
    first[:] = -1.0  # a caller scribbling on its copy must not change the next call's data
    again, labels_again = load_digits("train")
    assert again.min() == 0.0
    assert torch.equal(labels, labels_again)


@pytest.mark.parametrize("bad", ["validation", "TRAIN", ""])
def test_unknown_split_names_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"one of \('train', 'test'\).*" + repr(bad)):
        load_digits(bad)


def test_split_of_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match=r"expected split to be one of \('train', 'test'\), got 0 \(int\)"):
        load_digits(0)


def test_validation_split_of_the_training_digits_is_stratified_disjoint_and_complete():
    images, labels = load_digits("train")
    (fit_x, fit_y), (val_x, val_y) = validation_split(images, labels)
    assert fit_x.shape == (1149, 1, 8, 8) and val_x.shape == (288, 1, 8, 8)
    assert fit_y.dtype == val_y.dtype == torch.int64 and fit_x.dtype == torch.float32
    # each class keeps its share: the validation digits are a fifth of each class, within one digit
    counts, held = torch.bincount(labels, minlength=10), torch.bincount(val_y, minlength=10)
    assert torch.all((held - 288 * counts / len(labels)).abs() <= 1), (held, counts)
    # together the two parts are the training digits, each once, images still with their labels
    together = torch.cat([fit_x, val_x]).reshape(-1, 64)
    assert sorted(map(tuple, together.tolist())) == sorted(map(tuple, images.reshape(-1, 64).tolist()))
    pairs = {(tuple(x.flatten().tolist()), int(y)) for x, y in zip(images, labels, strict=True)}
    assert all((tuple(x.flatten().tolist()), int(y)) in pairs for x, y in zip(val_x, val_y, strict=True))


def test_validation_split_is_deterministic_and_depends_on_its_seed():
    images, labels = load_digits("train")
    first = validation_split(images, labels)[1][0]
    assert torch.equal(first, validation_split(images, labels)[1][0])
    assert not torch.equal(first, validation_split(images, labels, seed=1)[1][0])
    small = validation_split(images, labels, size=20)
    assert len(small[1][1]) == 20 and set(small[1][1].tolist()) == set(range(10))


def test_validation_split_refuses_bad_input():
    images, labels = load_digits("train")
    with pytest.raises(TypeError, match="expected images to be a torch.Tensor"):
        validation_split(images.numpy(), labels)
    with pytest.raises(ValueError, match=r"expected labels of shape \(1437,\)"):
        validation_split(images, labels[:-1])
    with pytest.raises(TypeError, match="expected labels of dtype torch.int64"):
        validation_split(images, labels.float())
    with pytest.raises(ValueError, match=r"expected size in \[10, 1427\].*got 5"):
        validation_split(images, labels, size=5)
    with pytest.raises(TypeError, match="expected size to be an int"):
        validation_split(images, labels, size=True)
    with pytest.raises(ValueError, match="at least two examples of every class"):
        validation_split(images[:12], torch.arange(12))


@pytest.mark.parametrize("name", ["grace_hopper", "china", "flower"])
def test_photos_are_grey_float_images_in_unit_range(name):
    photo = load_photo(name, max_side=128)
    assert photo.dtype == torch.float32 and photo.ndim == 2
    assert max(photo.shape) == 128
    assert 0.0 <= photo.min() < 0.2 and 0.8 < photo.max() <= 1.0
    assert photo.std() > 0.1  # a real picture, not a flat field


def test_unknown_photo_is_rejected():
    with pytest.raises(ValueError, match="grace_hopper"):
        load_photo("lena")


def test_seed_everything_repeats_torch_and_numpy_draws():
    companion.seed_everything(123)
    a = torch.randn(5), np.random.rand(3)
    companion.seed_everything(123)
    b = torch.randn(5), np.random.rand(3)
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    companion.seed_everything(124)
    assert not torch.equal(a[0], torch.randn(5))


def test_seed_everything_sets_threads_and_checks_its_arguments():
    before = torch.get_num_threads()
    try:
        companion.seed_everything(0, num_threads=1)
        assert torch.get_num_threads() == 1
        with pytest.raises(TypeError, match="seed"):
            companion.seed_everything(1.5)
        with pytest.raises(ValueError, match="num_threads"):
            companion.seed_everything(0, num_threads=0)
        with pytest.raises(TypeError, match=r"seed to be an int, got True \(bool\)"):
            companion.seed_everything(True)
    finally:
        torch.set_num_threads(before)


def test_device_override(monkeypatch):
    from companion import env

    monkeypatch.setenv("COMPANION_DEVICE", "cpu")
    assert companion.default_device() == torch.device("cpu")
    monkeypatch.delenv("COMPANION_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if env._mps_available() else "cpu")
    assert companion.default_device().type == expected
    monkeypatch.setenv("COMPANION_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"one of \('cpu', 'cuda', 'mps'\).*'tpu'"):
        companion.default_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("COMPANION_DEVICE", "cuda")
        with pytest.raises(ValueError, match="no CUDA"):
            companion.default_device()


def test_device_order_is_cuda_then_mps_then_cpu(monkeypatch):
    from companion import env

    monkeypatch.delenv("COMPANION_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    assert companion.default_device().type == "mps"
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert companion.default_device().type == "cpu"
    monkeypatch.setenv("COMPANION_DEVICE", "mps")
    with pytest.raises(ValueError, match="no Apple MPS"):
        companion.default_device()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    monkeypatch.delenv("COMPANION_DEVICE")
    assert companion.default_device().type == "cuda"


def test_chinese_text_renders_without_missing_glyph_warning():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from companion.plot import cjk_font_name, setup

    setup()
    assert "CJK" in cjk_font_name() or "Hei" in cjk_font_name() or "Han" in cjk_font_name()
    fig, ax = plt.subplots()
    ax.set_title("神经网络系统的创意创作技术 · 生成对抗网络")
    ax.set_xlabel("训练步数 (epoch)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        fig.canvas.draw()
    # ... and the font that the fallback reaches really has every glyph of the labels.
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(cjk_font_name())
    charmap = FT2Font(path).get_charmap()
    assert all(ord(ch) in charmap for ch in "神经网络系统的创意创作技术生成对抗训练步数")
    plt.close(fig)


def test_importing_plot_changes_no_setting_and_setup_does():
    import subprocess
    import sys

    code = ("import matplotlib; before = dict(matplotlib.rcParams); import companion.plot as p; "
            "assert dict(matplotlib.rcParams) == before; p.setup(); "
            "assert p.cjk_font_name() in matplotlib.rcParams['font.family']")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_setup_gives_lines_the_colour_blind_safe_palette():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.colors import to_hex

    from companion import plot

    palette = matplotlib.style.library[plot.COLORBLIND_STYLE]["axes.prop_cycle"].by_key()["color"]
    assert len(palette) == 10
    with matplotlib.rc_context():  # the rest of the session keeps its settings
        matplotlib.rcParams["axes.prop_cycle"] = matplotlib.cycler(color=["#ff0000", "#00ff00"])
        plot.setup()
        fig, ax = plt.subplots()
        lines = [ax.plot([0, 1], [0, k])[0] for k in range(3)]
        assert [to_hex(line.get_color()) for line in lines] == [to_hex(c) for c in palette[:3]]
        plt.close(fig)


def test_show_displays_a_png_with_its_alt_text(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import IPython.display
    from matplotlib import pyplot as plt

    from companion import plot

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    plot.show(fig, alt="A straight line rising from left to right.")
    (image,) = shown
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    _, metadata = image._repr_png_()
    assert metadata == {"alt": "A straight line rising from left to right."}
    assert not plt.get_fignums(), "the figure is closed, so the inline backend does not show it twice"
    with pytest.raises(ValueError, match="alt to be a sentence"):
        plot.show(plt.subplots()[0], alt="plot")
    with pytest.raises(TypeError, match="alt to be a str"):
        plot.show(plt.subplots()[0], alt=3)
    with pytest.raises(ValueError, match="figure with something drawn on it"):
        plot.show(plt.figure(), alt="a figure of nothing at all")
    with pytest.raises(TypeError, match="matplotlib Figure"):
        plot.show("figure", alt="a figure of nothing at all")
    plt.close("all")


def test_env_report_names_device_threads_and_font(capsys):
    report = companion.env_report()
    printed = capsys.readouterr().out
    for key in ("torch", "device", "torch threads", "CJK font"):
        assert key in report and key in printed


def test_check_unit_images_names_what_it_expected():
    from companion.data import check_unit_images

    assert check_unit_images(torch.zeros(2, 1, 8, 8), square=True) == (2, 1, 8, 8)
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_unit_images(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match=r"\(N, C, S, S\), got \(2, 1, 8, 6\)"):
        check_unit_images(torch.zeros(2, 1, 8, 6), square=True)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(1, 8, 8\)"):
        check_unit_images(torch.zeros(1, 8, 8))
    with pytest.raises(TypeError, match="torch.float32 or torch.float64, got torch.uint8"):
        check_unit_images(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="no size 0"):
        check_unit_images(torch.zeros(0, 1, 8, 8))
    with pytest.raises(ValueError, match="in \\[0, 1\\], got values in \\[0, 2\\]"):
        check_unit_images(torch.full((1, 1, 2, 2), 2.0).index_fill_(2, torch.tensor([0]), 0.0))
