"""Everything about training data and models.

``formats`` (dataset formats: parse, validate, normalise), ``visualize`` (labels drawn on images) and
``synthetic`` (procedurally generated demo datasets) need only Pillow and numpy; the PaddlePaddle
trainers import ``paddle`` themselves, inside the jobs that run them.
"""

import os

# PaddlePaddle's CPU build ships an MKL that takes its slow generic kernels on non-Intel CPUs unless told
# otherwise: on this project's AMD EPYC machines a ResNet18 training step was 4x slower without this
# (matmul 33 → 126 GFLOPS, conv2d 15 → 65). MKL reads it when paddle loads it, so it is set before any
# trainer module imports paddle; Intel CPUs ignore it, and a value the user set wins.
os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")
