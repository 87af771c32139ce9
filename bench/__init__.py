"""convscope against PyTorch, side by side: ``python -m bench`` (see docs/performance.md)."""
