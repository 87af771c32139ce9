"""The LeNet-5 that ships with the package, so that eval, predict, inspect and serve work on a
fresh machine with no training.

It is the model.safetensors of ``convscope train`` at its defaults (LeNet-5, Adam lr 2e-3 with
cosine decay, 10 epochs, batch 64, seed 0, one BLAS thread) on the embedded digits: 98.75% on
the 2,000 held-out digits (OpenBLAS SkylakeX kernel; another BLAS kernel rounds differently and
may land a few hundredths of a point away).
"""

from pathlib import Path

BUNDLED_LENET = Path(__file__).with_name("lenet-digits.safetensors")
BUNDLED_ACCURACY = 0.9875
