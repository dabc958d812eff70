"""The trained models' quality beside their references, in one run, with chapter 4's recipes.

Each row: (model, measure, this run, references, training seconds). The recipes are the package's
defaults, which are what chapter 4 trains, so these figures should match the notebook's.
"""

from __future__ import annotations

import math
import time

import torch

from companion.data import load_digits


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def cnn_rows(device: torch.device):
    from sklearn.svm import SVC

    from companion.cnn import ClassifierConfig, train_classifier
    from companion.metrics import evaluate

    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    (cnn, _), seconds = _timed(lambda: train_classifier(
        x_train, y_train, ClassifierConfig(), device=device, generator=torch.Generator().manual_seed(0),
        progress=False))
    accuracy = evaluate(cnn, x_test.to(device), y_test.to(device))["accuracy"]
    svc, svc_seconds = _timed(lambda: SVC(C=10, kernel="rbf").fit(x_train.flatten(1).numpy(), y_train.numpy()))
    svc_accuracy = svc.score(x_test.flatten(1).numpy(), y_test.numpy())
    row = ("CNN (digits)", "test accuracy", f"{accuracy:.4f}",
           f"RBF SVC (C=10): {svc_accuracy:.4f} in {svc_seconds:.2f} s; target ≥ 0.99", f"{seconds:.1f}")
    return cnn, [row]


def gan_rows(device: torch.device, cnn):
    from companion.gan import GANConfig, train_gan
    from companion.metrics import frechet_distance, label_entropy, predict_proba

    x_train, _ = load_digits("train")
    x_test, _ = load_digits("test")
    (gan, _), seconds = _timed(lambda: train_gan(x_train, GANConfig(), device=device,
                                                 generator=torch.Generator().manual_seed(0), progress=False))
    samples = gan.sample(1000, generator=torch.Generator().manual_seed(1))
    noise = torch.rand(360, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        reference = cnn.features(x_train.to(device))
        fd = [frechet_distance(cnn.features(images[:360].to(device)), reference) for images in (x_test, samples, noise)]
    coverage = label_entropy(predict_proba(cnn, samples).argmax(1), num_classes=10)
    return [
        ("GAN (digits)", "Fréchet distance (CNN features)", f"{fd[1]:.2f}",
         f"real test digits (floor) {fd[0]:.2f}; uniform noise (ceiling) {fd[2]:.2f}", f"{seconds:.1f}"),
        ("GAN (digits)", "label entropy of 1,000 samples (nats)", f"{coverage:.3f}",
         f"ideal ln 10 = {math.log(10):.3f}", "–"),
    ]


def vae_rows(device: torch.device):
    from companion.vae import VAEConfig, independent_pixels_nll, train_vae

    x_train, _ = load_digits("train")
    x_test, _ = load_digits("test")
    (vae, _), seconds = _timed(lambda: train_vae(x_train, VAEConfig(), device=device,
                                                 generator=torch.Generator().manual_seed(0), progress=False))
    with torch.no_grad():
        nats = vae.negative_elbo(x_test.to(device), n_samples=10, generator=torch.Generator().manual_seed(0))
    no_latent = independent_pixels_nll(x_train, x_test)
    return [("VAE (digits)", "test −ELBO (nats/image)", f"{nats.mean().item():.2f}",
             f"no latent (independent pixels) {no_latent.mean().item():.2f}; target ≤ 24.0", f"{seconds:.1f}")]


def charrnn_rows(device: torch.device):
    from companion import text
    from companion.charrnn import CharRNNConfig, bits_per_character, train_charrnn

    train_text, validation_text = text.load_docstrings("train"), text.load_docstrings("validation")
    ids = text.encode(train_text)
    (model, _), seconds = _timed(lambda: train_charrnn(ids, CharRNNConfig(), vocab_size=len(text.ALPHABET),
                                                       device=device, generator=torch.Generator().manual_seed(0),
                                                       progress=False))
    bpc = bits_per_character(model, text.encode(validation_text))
    return [("char-RNN (GRU, docstrings)", "validation bits per character", f"{bpc:.3f}",
             f"unigram {text.unigram_bpc(train_text, validation_text):.2f}; "
             f"xz {text.xz_bpc(train_text, validation_text):.2f}; target ≤ 2.0", f"{seconds:.1f}")]


def all_quality(device: torch.device):
    cnn, rows = cnn_rows(device)
    return [*rows, *gan_rows(device, cnn), *vae_rows(device), *charrnn_rows(device)]
