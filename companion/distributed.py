"""Data-parallel training with PyTorch's own engine: `torch.distributed` and DistributedDataParallel.

§1.5.1 of the textbook expects more computing power from 「分布式计算技术」. The commonest form is data
parallelism: W processes each hold a copy of the network, each takes 1/W of every mini-batch, and
after the backward pass they average their gradients (an *all-reduce*), so that every copy takes the
same step. With shards of equal size n = B/W the average of the shard means is the mean over the
whole batch,

    (1/W) Σ_r ∇ (1/n) Σ_{i in shard r} ℓ_i  =  ∇ (1/B) Σ_{i in batch} ℓ_i,                  (1.5.1)

so W processes compute the gradient that one process computes on the combined batch, up to the
order of the floating-point sums. `torch.nn.parallel.DistributedDataParallel` (Li et al., 2020,
"PyTorch Distributed: Experiences on Accelerating Data Parallel Training", VLDB) does the averaging
during the backward pass; here the processes talk through the gloo backend over this machine's
loopback interface, so nothing leaves the machine.

`train_data_parallel` trains the digit CNN of `companion.cnn` with momentum SGD, in this process
(``world_size=1``: the reference) or in ``world_size`` processes started with `torch.multiprocessing`'s
"spawn" method (each a fresh Python that imports torch: that start-up is part of the cost, and
`history["overhead_seconds"]` reports it). Both draw the same initial weights and the same batches
from ``generator``, so their results can be compared step for step.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from companion import training
from companion import validation as check
from companion.cnn import CNN


@dataclass(frozen=True)
class DataParallelConfig:
    """How `train_data_parallel` trains: momentum SGD on global batches split evenly over the processes.

    batch_size is the global batch B; each of the world_size processes takes B / world_size images of it.
    Only whole batches are used (the last, shorter batch of an epoch is dropped), so every step of every
    run sees exactly B images.
    """

    world_size: int = 2
    epochs: int = 2
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9

    def __post_init__(self):
        check.positive_int(self.world_size, "world_size")
        check.positive_int(self.epochs, "epochs")
        check.positive_int(self.batch_size, "batch_size")
        if self.batch_size % self.world_size:
            raise ValueError(f"expected batch_size divisible by world_size={self.world_size} (equal shards), "
                             f"got {self.batch_size}")
        check.real(self.lr, "lr", above=0)
        check.real(self.momentum, "momentum", at_least=0, below=1)


def loopback_interface() -> str | None:
    """The name of this machine's loopback network interface ("lo" on Linux, "lo0" on macOS), if found."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):
        return None
    return next((name for name in ("lo", "lo0") if name in names), None)


def _batches(n: int, config: DataParallelConfig, seed: int) -> list[torch.Tensor]:
    """The index of every whole global batch of every epoch, drawn from one seed (the same in every process)."""
    order = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(config.epochs):
        permutation = torch.randperm(n, generator=order)
        batches += list(permutation[: n - n % config.batch_size].split(config.batch_size))
    return batches


def _train_steps(model, images, labels, batches, config, rank: int, record_gradients: bool):
    """The training loop every process runs: its shard of each global batch, one SGD step per batch.

    Returns the loss of each step on this process's shard, the gradients of the first step (as the
    optimiser saw them: after DistributedDataParallel's all-reduce when the model is wrapped) and the
    seconds the loop took.
    """
    shard = config.batch_size // config.world_size
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    losses, first_gradients = [], None
    start = time.perf_counter()
    for step, batch in enumerate(batches):
        mine = batch[rank * shard:(rank + 1) * shard]  # (B / W,) indices of this process's shard
        loss = F.cross_entropy(model(images[mine]), labels[mine])  # the mean over the shard
        optimizer.zero_grad()
        loss.backward()  # in DDP: the gradients are averaged over the processes here, eq. (1.5.1)
        if step == 0 and record_gradients:
            first_gradients = [p.grad.detach().clone() for p in model.parameters()]
        optimizer.step()
        losses.append(loss.item())
    return losses, first_gradients, time.perf_counter() - start


def _worker(rank: int, state: dict, images, labels, batches, config: DataParallelConfig, store: str, out: str):
    """One process of a data-parallel run (started by torch.multiprocessing.spawn)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)  # one core per process
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=config.world_size)
    try:
        model = CNN(images.shape[1], images.shape[2], int(labels.max()) + 1).to(images.dtype)
        model.load_state_dict(state)
        ddp = DistributedDataParallel(model)  # broadcasts rank 0's weights, all-reduces every gradient
        dist.barrier()  # start the clock when every process is ready
        losses, gradients, seconds = _train_steps(ddp, images, labels, batches, config, rank, rank == 0)
        shard_losses = torch.tensor(losses, dtype=torch.float64)
        dist.all_reduce(shard_losses)  # the sum over the processes of each step's shard loss
        if rank == 0:
            torch.save({"state": model.state_dict(), "loss": (shard_losses / config.world_size).tolist(),
                        "gradients": gradients, "seconds": seconds}, out)
    finally:
        dist.destroy_process_group()


def train_data_parallel(images: torch.Tensor, labels: torch.Tensor, config: DataParallelConfig | None = None, *,
                        device: torch.device | str | None = None, generator: torch.Generator | None = None,
                        progress: bool = True) -> tuple[CNN, dict]:
    """Train the digit `CNN` on labelled images in `config.world_size` processes (1: in this one).

    Args:
        images: (N, C, S, S) float images on the CPU; labels: (N,) int64 class indices.
        config: processes, epochs, global batch size, learning rate, momentum; `DataParallelConfig()` if None.
        device: only the CPU is supported here (the gloo backend; with GPUs one would use NCCL).
        generator: a CPU generator for the initial weights and the batch order; the same seed gives the
            same initial weights and batches for every world_size.
        progress: accepted for the trainers' common shape; a data-parallel run shows no bar.

    Returns:
        (model, history): the trained CNN in eval mode, and a history with "loss" (each step's mean loss
        over the global batch), "first_gradients" (the gradients of the first step, aligned with
        ``model.parameters()``), "seconds" (the training loop, measured in the first process after all
        processes were ready), "overhead_seconds" (starting the processes and connecting them; 0 for one
        process) and "world_size".
    """
    config = training.check_config(config, DataParallelConfig)
    check.tensor(images, "images", ndim=4, layout="(N, C, S, S)", floating=True, min_size=1, finite=True)
    check.class_indices(labels, "labels", n=images.shape[0])
    if images.shape[0] < config.batch_size:
        raise ValueError(f"expected at least batch_size={config.batch_size} images, got {images.shape[0]}")
    if training.resolve_device(device, images).type != "cpu" or labels.device.type != "cpu":
        raise ValueError(f"expected images, labels and device on the CPU (the gloo backend), got "
                         f"{images.device}, {labels.device} and {device}")
    generator = training.seed_generator(generator)
    check.flag(progress, "progress")

    with training.weights_from(generator, torch.device("cpu")):
        model = CNN(images.shape[1], images.shape[2], int(labels.max()) + 1).to(images.dtype)
    batches = _batches(len(images), config, int(torch.randint(2**62, (1,), generator=generator)))
    if config.world_size == 1:
        losses, gradients, seconds = _train_steps(model, images, labels, batches, config, 0, True)
        history = {"loss": losses, "first_gradients": gradients, "seconds": seconds, "overhead_seconds": 0.0}
    else:
        history = _spawn(model, images, labels, batches, config)
    history["world_size"] = config.world_size
    model.eval()
    return model, history


def _spawn(model: CNN, images, labels, batches, config: DataParallelConfig) -> dict:
    """Run `_worker` in config.world_size fresh processes; load the first one's results into `model`."""
    import torch.multiprocessing as mp

    interface = loopback_interface()
    previous = os.environ.get("GLOO_SOCKET_IFNAME")
    if interface and previous is None:
        os.environ["GLOO_SOCKET_IFNAME"] = interface  # the children inherit it: gloo talks over loopback only
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as folder:
            store, out = str(Path(folder) / "store"), str(Path(folder) / "result.pt")
            mp.spawn(_worker, args=(model.state_dict(), images, labels, batches, config, store, out),
                     nprocs=config.world_size, start_method="spawn")
            result = torch.load(out, weights_only=True)
    finally:
        if interface and previous is None:
            del os.environ["GLOO_SOCKET_IFNAME"]
    total = time.perf_counter() - start
    model.load_state_dict(result["state"])
    return {"loss": result["loss"], "first_gradients": result["gradients"], "seconds": result["seconds"],
            "overhead_seconds": total - result["seconds"]}
