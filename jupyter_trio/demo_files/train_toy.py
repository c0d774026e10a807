"""A toy training script: fits y = 3x + 1 with gradient descent, configured by config.yaml.

Run as a jupyter-trio task, it reads its task's frozen config (TRIO_CONFIG); run by hand, it reads
the path given on the command line or config.yaml beside it.
"""

import math
import os
import random
import sys
import time

import yaml

config_path = os.environ.get("TRIO_CONFIG") or (sys.argv[1] if len(sys.argv) > 1 else "config.yaml")
with open(config_path) as fh:
    cfg = yaml.safe_load(fh)

random.seed(cfg.get("seed", 0))
w, b = 0.0, 0.0
lr = float(cfg["optimizer"]["lr"])
data = [(x / 10, 3 * x / 10 + 1 + random.gauss(0, 0.05)) for x in range(100)]
for epoch in range(int(cfg["epochs"])):
    grad_w = grad_b = loss = 0.0
    for x, y in data:
        err = w * x + b - y
        loss += err * err / len(data)
        grad_w += 2 * err * x / len(data)
        grad_b += 2 * err / len(data)
    w -= lr * grad_w
    b -= lr * grad_b
    print(f"epoch {epoch + 1}/{cfg['epochs']} loss={loss:.5f} w={w:.3f} b={b:.3f}", flush=True)
    time.sleep(float(cfg.get("sleep", 0.0)))
print("final:", "ok" if math.isfinite(loss) else "diverged")
