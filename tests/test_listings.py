"""The textbook's listings 1.4.1 (CNN) and 1.4.2 (GAN) fail as notebook 04 shows: same errors, same causes.

Each test rebuilds only the lines an erratum is about and asserts the error (or the measured
misbehaviour) that the matching `raises-exception` cell of notebooks/04_code_examples.ipynb displays.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.cnn import CNN
from companion.gan import Discriminator, Generator


def _listing_namespace():
    """What the listings import: torch, torch.nn as nn, torch.optim as optim, and nothing else."""
    return {"torch": torch, "nn": nn, "optim": torch.optim}


# --- listing 1.4.1 ------------------------------------------------------------------------------

def test_cnn_listing_calls_F_without_importing_it():
    with pytest.raises(NameError, match="name 'F' is not defined"):
        exec("conv1 = nn.Conv2d(3, 32, 3, padding=1)\nF.relu(conv1(torch.randn(2, 3, 28, 28)))", _listing_namespace())


def _listing_features(x):
    torch.manual_seed(0)
    conv1, conv2, pool = nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.MaxPool2d(2, 2)
    return pool(F.relu(conv2(pool(F.relu(conv1(x))))))


def test_cnn_listing_flatten_size_ignores_the_two_poolings():
    h = _listing_features(torch.randn(4, 3, 28, 28))
    assert h.shape == (4, 64, 7, 7)
    with pytest.raises(RuntimeError, match=r"shape '\[-1, 50176\]' is invalid for input of size 12544"):
        h.view(-1, 64 * 28 * 28)


def test_cnn_listing_view_silently_merges_sixteen_images_into_one_row():
    h = _listing_features(torch.randn(16, 3, 28, 28))
    assert h.view(-1, 64 * 28 * 28).shape == (1, 64 * 28 * 28)


def test_cnn_listing_uses_pixel_values_as_labels():
    torch.manual_seed(0)
    net = CNN(3, 28)
    x = torch.randn(3, 28, 28)  # train_data[i]: one image, no batch dimension
    h = net.pool(F.relu(net.conv2(net.pool(F.relu(net.conv1(x))))))
    output = net.fc2(F.relu(net.fc1(h.view(-1, 64 * 7 * 7))))
    assert output.shape == (1, 10)
    with pytest.raises(ValueError, match=r"Expected input batch_size \(1\) to match target batch_size \(2352\)"):
        nn.CrossEntropyLoss()(output, x.view(-1).long())


def test_corrected_cnn_rejects_the_unbatched_sample_clearly():
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 3, 28, 28\), got \(3, 28, 28\)"):
        CNN(3, 28)(torch.randn(3, 28, 28))


# --- listing 1.4.2 ------------------------------------------------------------------------------

def test_gan_listing_steps_an_optimizer_that_was_never_defined():
    with pytest.raises(NameError, match="name 'optimizer' is not defined"):
        exec("optimizer.zero_grad()", _listing_namespace())


def test_gan_listing_discriminator_calls_F_without_importing_it():
    with pytest.raises(NameError, match="name 'F' is not defined"):
        exec("conv1 = nn.Conv2d(3, 32, 3, padding=1)\nF.relu(conv1(torch.randn(1, 3, 28, 28)))", _listing_namespace())


def _listing_generator():
    torch.manual_seed(0)
    return (nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False), nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False),
            nn.ConvTranspose2d(32, 3, 4, 2, 1, bias=False))


def test_gan_listing_generator_makes_16x16_which_cannot_be_batched_with_28x28_data():
    g1, g2, g3 = _listing_generator()
    fake = torch.tanh(g3(g2(g1(torch.randn(1, 100, 1, 1)))))
    assert fake.shape == (1, 3, 16, 16)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        torch.cat([torch.randn(1, 3, 28, 28), fake])


def test_gan_listing_discriminator_returns_a_29x29_map():
    conv5 = nn.Conv2d(256, 1, 4, padding=2)
    assert conv5(torch.randn(1, 256, 28, 28)).shape == (1, 1, 29, 29)
    assert conv5(torch.randn(1, 256, 16, 16)).shape == (1, 1, 17, 17)
    assert Discriminator(3, 28)(torch.randn(2, 3, 28, 28)).shape == (2,)


def test_gan_listing_generator_is_linear_before_its_tanh():
    g1, g2, g3 = _listing_generator()
    g = lambda z: g3(g2(g1(z)))  # noqa: E731
    z1, z2 = torch.randn(2, 100, 1, 1), torch.randn(2, 100, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(g(2 * z1 - 3 * z2), 2 * g(z1) - 3 * g(z2), rtol=1e-4, atol=1e-5)


def test_sigmoid_then_bce_saturates_where_bce_with_logits_does_not():
    logit = torch.tensor([20.0], requires_grad=True)  # a discriminator sure that a fake is real
    loss = nn.BCELoss()(torch.sigmoid(logit), torch.zeros(1))
    loss.backward()
    assert loss.item() == 100.0 and logit.grad.item() == 0.0  # log clamped at -100, gradient lost
    logit.grad = None
    stable = F.binary_cross_entropy_with_logits(logit, torch.zeros(1))
    stable.backward()
    assert stable.item() == pytest.approx(20.0) and logit.grad.item() == pytest.approx(1.0)


def _mean_d_after_generator_steps(target: float, steps: int = 30) -> tuple[float, float]:
    """Step G alone on BCE(D(G(z)), target) with D fixed; mean D(G(z)) before and after."""
    torch.manual_seed(0)
    G, D = Generator(1, 8, latent_dim=16, width=16), Discriminator(1, 8, width=16)
    D.requires_grad_(False)
    z = torch.randn(256, 16)
    optimizer = torch.optim.Adam(G.parameters(), lr=1e-2)
    before = torch.sigmoid(D(G(z))).mean().item()
    for _ in range(steps):
        logits = D(G(z))
        loss = F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return before, torch.sigmoid(D(G(z))).mean().item()


def test_gan_listing_generator_update_pushes_d_of_g_of_z_the_wrong_way():
    # The listing steps G with the gradient of fake_loss = BCE(D(G(z)), 0): G learns to look fake.
    before, after = _mean_d_after_generator_steps(target=0.0)
    assert after < before - 0.05
    # The non-saturating loss BCE(D(G(z)), 1) moves it the right way, from the same start.
    before_ns, after_ns = _mean_d_after_generator_steps(target=1.0)
    assert before_ns == before and after_ns > before + 0.05
