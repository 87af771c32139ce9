"""A training session: the settings of a run and everything they build, on one or many processes.

    session = Session.new(TrainConfig(epochs=3), out="runs/a")   # or Session.resume("runs/a")
    if not session.complete:
        with session:                                 # data, model, optimizer, loaders, lock
            for event in session.train(should_stop):  # fit's events; the run folder is written
                ...                                   # after every epoch and on a stop

``new`` and ``resume`` only read settings (and the saved state) and set the thread policy;
entering the session loads the data (``--limit``: the first N train and N test images), seeds
``nn.init`` with the run's seed and builds the model, the optimizer, its learning-rate schedule
and the loaders, restores a saved state, and locks the run folder (``train.run_folder``).
``out=None`` trains without a folder (nothing is written).

Data-parallel training passes a ``world`` (default ``SingleProcess()``): any object with
``rank``, ``size``, ``is_main``, ``broadcast_parameters(model)``, ``allreduce_gradients(model)``,
``allreduce_sum(array)`` and ``sampler(n, *, shuffle, seed, drop_last)``, as ``train.world``
describes. The session calls ``broadcast_parameters`` once after the model is built or
restored, gives the training loader ``world.sampler(len(train), shuffle=True, seed=seed,
drop_last=False)`` (None: the loader's own seeded shuffle), gives each rank every size-th test
sample for evaluation, and lets only the main rank lock and write the run folder. ``fit``
averages the gradients each step and sums the epoch's figures over the ranks. ``batch_size`` is
per rank. ``should_stop`` is agreed over the ranks (all stop after the same step), and a run
saved by N ranks resumes under any number of ranks (``train.world.continue_progress``).
"""

import time
from pathlib import Path

from .. import nn
from ..data import DataLoader, normalization, open_data
from ..errors import CheckpointError, ConvscopeError
from ..models import get_model
from .checkpoint import load_state
from .config import TrainConfig
from .loop import EpochEvent, Progress, Stopped, fit
from .run_folder import RunFolder
from .state import capture, check_history, restore
from .threads import apply_thread_policy
from .world import SingleProcess, agreed, continue_progress, shard, sum_running

TEST_BATCH = 500


def default_run_folder(model):
    """runs/<model>-<date>-<time>, relative to the working directory."""
    return Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"


class Session:
    """One training run: settings, data, model, optimizer, schedule, loaders, progress, folder."""

    def __init__(self, config, setup, out=None, *, state=None, world=None):
        self.config = config
        self.setup = setup  # {"data": path or None, "limit": N or None, "threads": N or None}
        self.folder = RunFolder(out) if out is not None else None
        self.world = world if world is not None else SingleProcess()
        self._state = state
        self.history = list(state["history"]) if state is not None else []
        self.model = self.optimizer = self.scheduler = None

    @classmethod
    def new(cls, config, *, data=None, limit=None, threads=None, out=None, world=None):
        """A fresh run into ``out`` (refused when ``out`` already holds a resumable run)."""
        session = cls(config, {"data": data, "limit": limit, "threads": threads}, out, world=world)
        session._refuse_existing_run()
        apply_thread_policy(threads)
        return session

    @classmethod
    def resume(cls, out, *, threads=None, world=None):
        """The run saved in folder ``out``, with its saved settings (and thread count)."""
        folder = RunFolder(out)
        if not folder.has_state and folder.unfinished:
            raise CheckpointError(
                f"{out}: no state.safetensors: the run was stopped before its first epoch was"
                f" saved, so there is nothing to resume; start it over with --out {out}"
            )
        state = load_state(folder.state)
        config, setup = _saved_settings(state, folder.state)
        apply_thread_policy(threads if threads is not None else setup["threads"])
        return cls(config, setup, out, state=state, world=world)

    @property
    def resuming(self):
        return self._state is not None

    @property
    def complete(self):
        """True when every epoch of the run is done (resuming it changes nothing)."""
        return len(self.history) >= self.config.epochs

    # ---- building ----------------------------------------------------------------------

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def open(self):
        """Load the data, build (or restore) the model and its optimizer, lock the run folder."""
        self._load_data()
        self._build()
        if self.folder is not None and self.world.is_main:
            self.folder.lock()  # only once data and model are ready: a bad run writes nothing
            if not self.resuming:
                try:
                    self._refuse_existing_run()  # again, now that no one else can write
                except ConvscopeError:
                    self.close()
                    raise
        return self

    def _load_data(self):
        """The splits (the first ``limit`` of each), the loaders, and the facts a model file keeps."""
        config, setup, world = self.config, self.setup, self.world
        train_set, test_set = open_data(setup["data"], seed=config.seed)
        if setup["limit"]:
            train_set = train_set.subset(range(min(setup["limit"], len(train_set))))
            test_set = test_set.subset(range(min(setup["limit"], len(test_set))))
        self.train_set, self.test_set = train_set, test_set
        sampler = world.sampler(len(train_set), shuffle=True, seed=config.seed, drop_last=False)
        if sampler is None:
            self.train_loader = DataLoader(train_set, config.batch_size, shuffle=True, seed=config.seed)  # fmt: skip
        else:
            self.train_loader = DataLoader(train_set, config.batch_size, sampler=sampler)
        self.test_loader = DataLoader(test_set, TEST_BATCH, sampler=shard(len(test_set), world))
        mean, std = normalization(train_set)
        self.facts = {
            "normalize": {"mean": mean, "std": std},
            "input_shape": list(train_set.sample_shape),
            "classes": list(train_set.classes),
        }

    def _build(self):
        """Model (seeded), optimizer and schedule; a saved state restored; rank 0's weights."""
        config = self.config
        self.model_config = {"num_classes": len(self.facts["classes"])}
        nn.init.manual_seed(config.seed)
        self.model = get_model(config.model, **self.model_config)
        self.optimizer = config.build_optimizer(self.model.parameters())
        # built before a restore, so that its base learning rate is the configured one
        self.scheduler = config.build_scheduler(self.optimizer, len(self.train_loader))
        self.progress = Progress()
        if self._state is not None:
            self.progress = restore(self._state, self.model, self.optimizer, self.folder.state)
            if self.progress.epoch < len(self.history):  # saved just after an epoch's row
                self.progress = Progress(
                    epoch=len(self.history), global_step=self.progress.global_step
                )
            saved_ranks = _saved_ranks(self._state, self.folder.state)
            steps = len(self.train_loader)
            self.progress = continue_progress(self.progress, saved_ranks, self.world, steps)
        self.world.broadcast_parameters(self.model)

    def close(self):
        if self.folder is not None:
            self.folder.unlock()

    def _refuse_existing_run(self):
        if self.folder is not None and self.folder.has_state:
            raise ConvscopeError(
                f"{self.folder} already holds a run; continue it with --resume {self.folder}"
                f" or pick another --out"
            )

    # ---- running -----------------------------------------------------------------------

    @property
    def images_per_epoch(self):
        """Training images this process sees per epoch."""
        sampler = self.train_loader.sampler
        return len(sampler) if sampler is not None else len(self.train_set)

    def train(self, should_stop=None):
        """``fit``'s events for the rest of the run; the folder is saved after each epoch
        (before its EpochEvent is yielded) and when ``should_stop()`` stops it."""
        if self.model is None:
            raise ConvscopeError("Session.train: open the session first (with session: ...)")
        events = fit(
            self.model,
            self.optimizer,
            self.train_loader,
            self.test_loader,
            self.config.epochs,
            scheduler=self.scheduler,
            progress=self.progress,
            should_stop=agreed(should_stop, self.world),
            world=self.world,
            num_classes=len(self.facts["classes"]),
        )
        for event in events:
            if isinstance(event, EpochEvent):
                self.history.append(event.as_dict())
                self.save()
            elif isinstance(event, Stopped):
                sum_running(self.progress, self.world)
                self.save()
            yield event

    def save(self):
        """Write the run folder for the current point of the run (main rank only)."""
        if self.folder is None or not self.world.is_main:
            return
        state = capture(
            self.model,
            self.optimizer,
            self.progress,
            config=self.config.as_dict(),
            setup=self.setup,
            history=self.history,
            ranks=self.world.size,
        )
        self.folder.save(
            self.model, self.config.model, self.model_config, self.facts, self.history, state
        )


def _saved_settings(state, path):
    """(TrainConfig, setup) of a saved run; CheckpointError when they are damaged."""

    def damaged(detail):
        return CheckpointError(f"{path}: damaged settings ({detail})")

    parts = {"model", "optimizer", "progress", "rng", "config", "setup", "history"}
    if not (isinstance(state, dict) and parts <= set(state) and isinstance(state["model"], dict)):
        raise damaged(f"it needs {', '.join(sorted(parts))}")
    try:
        config = TrainConfig.from_dict(state["config"])
    except ConvscopeError as exc:
        raise damaged(exc) from None
    setup = state["setup"]
    kinds = {"data": str, "limit": int, "threads": int}
    if not (
        isinstance(setup, dict)
        and set(setup) == set(kinds)
        and all(setup[k] is None or isinstance(setup[k], t) for k, t in kinds.items())
    ):
        raise damaged(f"setup {setup!r}")
    check_history(state["history"], path)
    return config, setup


def _saved_ranks(state, path):
    """How many ranks counted the saved progress (1 for runs saved before data parallelism)."""
    ranks = state.get("ranks", 1)
    if not (isinstance(ranks, int) and not isinstance(ranks, bool) and ranks >= 1):
        raise CheckpointError(
            f"{path}: damaged training state (ranks {ranks!r} is not an integer >= 1)"
        )
    return ranks
