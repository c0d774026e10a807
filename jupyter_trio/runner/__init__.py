"""Job runner: scheduling on GPUs/CPU slots, process supervision, logs, restart recovery."""
