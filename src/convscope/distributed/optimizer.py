"""DistributedOptimizer: an optimizer whose ``step()`` first averages the gradients over the ranks.

    optimizer = DistributedOptimizer(cs.optim.Adam(model.parameters(), lr=2e-3), model)
    optimizer.zero_grad(); loss.backward(); optimizer.step()

Horovod's wrapper, in the form convscope's optimizers allow: ``step()`` is
``world.allreduce_gradients(model)`` followed by the wrapped optimizer's step; everything else
(``param_groups``, ``zero_grad``, ``state_dict``, ``load_state_dict``, ...) is the wrapped one's,
so a checkpoint saved from it loads into a plain optimizer in one process.
"""

from ..autograd import enable_grad


class DistributedOptimizer:
    """Wraps ``optimizer`` so that ``step()`` averages ``model``'s gradients over ``world`` first.

    ``world`` defaults to the one of ``convscope.distributed.init()``.
    """

    def __init__(self, optimizer, model, world=None, broadcast_buffers=True):
        if world is None:
            from . import current_world

            world = current_world("DistributedOptimizer")
        self.optimizer, self.model, self.world = optimizer, model, world
        self.broadcast_buffers = broadcast_buffers

    def step(self, closure=None):
        """Average the gradients over the ranks, then the wrapped step; returns closure()'s loss."""
        loss = None
        if closure is not None:  # the closure computes the gradients: average them after it
            with enable_grad():
                loss = closure()
        self.world.allreduce_gradients(self.model, self.broadcast_buffers)
        self.optimizer.step()
        return loss

    def __getattr__(self, name):  # param_groups, state, zero_grad, state_dict, ...
        return getattr(self.optimizer, name)

    def __repr__(self):
        return f"DistributedOptimizer({self.optimizer!r}, world={self.world!r})"
