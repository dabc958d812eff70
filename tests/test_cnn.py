"""The corrected CNN of listing 1.4.1: computed flatten size, input checks, batched training."""

import pytest
import torch

from companion.cnn import CNN, ClassifierConfig, flatten_size, train_classifier
from companion.data import load_digits
from companion.metrics import evaluate, predict_proba
from tests.helpers import assert_close


@pytest.mark.parametrize("channels, size, flat", [(3, 28, 64 * 7 * 7), (1, 8, 64 * 2 * 2), (1, 10, 64 * 2 * 2)])
def test_flatten_size_follows_the_two_poolings(channels, size, flat):
    assert flatten_size(size) == flat
    model = CNN(channels, size)
    assert model.fc1.in_features == flat
    x = torch.rand(5, channels, size, size)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 512)


def test_forward_matches_the_listing_layers_in_float64():
    torch.manual_seed(0)
    model = CNN(3, 28).double()
    x = torch.rand(2, 3, 28, 28, dtype=torch.float64, requires_grad=True)
    F = torch.nn.functional
    h = F.max_pool2d(F.relu(F.conv2d(x, model.conv1.weight, model.conv1.bias, padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, model.conv2.weight, model.conv2.bias, padding=1)), 2)
    h = F.relu(h.reshape(2, 64 * 7 * 7) @ model.fc1.weight.T + model.fc1.bias)
    expected = h @ model.fc2.weight.T + model.fc2.bias
    out = model(x)
    assert_close(out, expected)
    grad, = torch.autograd.grad(out.sum(), x)
    grad_expected, = torch.autograd.grad(expected.sum(), x)
    assert_close(grad, grad_expected)


@pytest.mark.parametrize("shape", [(3, 28, 28), (2, 1, 28, 28), (2, 3, 32, 32)])
def test_wrong_input_shape_is_a_clear_value_error(shape):
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 3, 28, 28\), got"):
        CNN(3, 28)(torch.rand(*shape))


def test_constructor_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="image_size to be an int >= 4"):
        CNN(1, 3)
    with pytest.raises(TypeError, match=r"num_classes to be an int >= 2, got True \(bool\)"):
        CNN(1, 8, True)


def _small():
    images, labels = load_digits("train")
    return images[:96], labels[:96]


def test_train_classifier_one_epoch_shapes_history_and_determinism():
    images, labels = _small()
    config = ClassifierConfig(epochs=2, batch_size=32)
    runs = [train_classifier(images, labels, config, eval_images=images[:20], eval_labels=labels[:20],
                             generator=torch.Generator().manual_seed(3), progress=False) for _ in range(2)]
    (model, history), (model2, history2) = runs
    assert set(history) == {"train_loss", "train_accuracy", "eval_loss", "eval_accuracy"}
    assert all(len(v) == 2 for v in history.values())
    assert history == history2
    for p, q in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not model.training
    probs = predict_proba(model, images[:7])
    assert probs.shape == (7, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(7))


def test_training_learns_a_little_in_a_few_epochs():
    images, labels = load_digits("train")
    model, history = train_classifier(images[:300], labels[:300], ClassifierConfig(epochs=6, dropout=0.0),
                                      generator=torch.Generator().manual_seed(0), progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert evaluate(model, images[300:600], labels[300:600])["accuracy"] > 0.5


def test_float64_training_keeps_the_dtype():
    images, labels = _small()
    model, _ = train_classifier(images.double(), labels, ClassifierConfig(epochs=1), progress=False,
                                generator=torch.Generator().manual_seed(0))
    assert next(model.parameters()).dtype == torch.float64


def test_diverging_run_stops_with_a_clear_error():
    images, labels = _small()
    with pytest.raises(FloatingPointError, match="loss became (nan|inf) at step"):
        train_classifier(images, labels, ClassifierConfig(epochs=3, lr=1e30), progress=False,
                         generator=torch.Generator().manual_seed(0))


def test_nan_images_are_refused_before_training():
    images, labels = _small()
    images = images.clone()
    images[5, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="expected training images to be finite, got 1 nan/inf value"):
        train_classifier(images, labels, ClassifierConfig(epochs=1, batch_size=96), progress=False)


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (torch.rand(10, 8, 8), torch.zeros(10, dtype=torch.int64), r"images of shape \(N, C, S, S\), got \(10, 8, 8\)"),
        (torch.rand(10, 1, 8, 8), torch.zeros(9, dtype=torch.int64), r"labels of shape \(10,\), one per example"),
        (torch.rand(10, 1, 8, 8), torch.rand(10, 64), r"labels of shape \(10,\), got \(10, 64\)"),
        (torch.rand(0, 1, 8, 8), torch.zeros(0, dtype=torch.int64), "at least one entry"),
    ],
)
def test_train_classifier_rejects_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        train_classifier(images, labels, ClassifierConfig(epochs=1), progress=False)
