"""Training images/s of `convscope train`'s default setup against the same LeNet-5 in PyTorch.

    python bench/train_lenet.py [--epochs 5] [--batch-size 64]

Both train LeNet-5 with Adam (cosine schedule, as `convscope train`) on the embedded 8,000
training digits, same batches, same batch size, in this one process; epochs alternate between
the two so that machine noise hits both alike, after 10 warm-up steps each (JIT, caches). Only the training steps are timed (forward,
loss, backward, optimizer step), not the evaluation. Prints each epoch, the medians, and the
ratio convscope / PyTorch.
"""

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as tF

import convscope as cs
from convscope.data import DataLoader, load_digits
from convscope.models import lenet5
from convscope.train import TrainConfig
from convscope.train.loop import train_step


class TorchLeNet5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = tF.max_pool2d(tF.relu(self.conv1(x)), 2)
        x = tF.max_pool2d(tF.relu(self.conv2(x)), 2)
        return self.fc3(tF.relu(self.fc2(tF.relu(self.fc1(torch.flatten(x, 1))))))


def convscope_epoch(model, opt, sched, batches):
    model.train()
    t0 = time.perf_counter()
    for x, y in batches:
        train_step(model, opt, x, y)
        sched.step()
    return time.perf_counter() - t0


def torch_epoch(model, opt, sched, batches):
    model.train()
    t0 = time.perf_counter()
    for x, y in batches:
        loss = tF.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return time.perf_counter() - t0


def torch_cosine(opt, total_steps):
    """The same per-batch cosine as `convscope train`, in PyTorch's own scheduler."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    config = TrainConfig(batch_size=args.batch_size, epochs=args.epochs)
    train, _ = load_digits()
    loader = DataLoader(train, config.batch_size, shuffle=True, seed=config.seed)
    total = config.epochs * len(loader)

    cs.nn.init.manual_seed(config.seed)
    ours = lenet5()
    ours_opt = config.build_optimizer(ours.parameters())
    theirs = TorchLeNet5()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    theirs_opt = torch.optim.Adam(theirs.parameters(), lr=config.base_lr)
    ours_sched = config.build_scheduler(ours_opt, len(loader))
    theirs_sched = torch_cosine(theirs_opt, total)

    print(
        f"LeNet-5, {len(train)} images/epoch, batch {config.batch_size}, Adam + cosine;"
        f" numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )
    warm = [(x, y) for x, y in list(loader.iterate())[:10]]  # JIT compilation, caches, threads
    warm_model = lenet5()
    warm_opt = config.build_optimizer(warm_model.parameters())
    convscope_epoch(warm_model, warm_opt, config.build_scheduler(warm_opt, len(loader)), warm)
    warm_torch = TorchLeNet5()
    torch_batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in warm]
    warm_topt = torch.optim.Adam(warm_torch.parameters(), lr=config.base_lr)
    torch_epoch(warm_torch, warm_topt, torch_cosine(warm_topt, total), torch_batches)

    print(f"{'epoch':>5}  {'convscope img/s':>15}  {'torch img/s':>11}  {'ratio':>5}")
    rates = {"convscope": [], "torch": []}
    for epoch in range(args.epochs):
        loader.set_epoch(epoch)
        batches = list(loader.iterate())
        torch_batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
        ours_s = convscope_epoch(ours, ours_opt, ours_sched, batches)
        theirs_s = torch_epoch(theirs, theirs_opt, theirs_sched, torch_batches)
        rates["convscope"].append(len(train) / ours_s)
        rates["torch"].append(len(train) / theirs_s)
        print(
            f"{epoch + 1:>5}  {rates['convscope'][-1]:>15,.0f}  {rates['torch'][-1]:>11,.0f}"
            f"  {ours_s and theirs_s / ours_s:>5.2f}"
        )
    ours_med, theirs_med = statistics.median(rates["convscope"]), statistics.median(rates["torch"])
    print(
        f"median  convscope {ours_med:,.0f} img/s   torch {theirs_med:,.0f} img/s"
        f"   ratio {ours_med / theirs_med:.2f}x"
    )


if __name__ == "__main__":
    main()
