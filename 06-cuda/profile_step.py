#!/usr/bin/env python3
"""profile_step.py - where one training step's GPU time goes.

Reads the CSV that Nsight Compute writes for
  ncu --csv --metrics gpu__time_duration.sum gpt-cuda train --iters 2 ...
(one row per kernel launch, in launch order), finds the second training
step (the launches after the first step's AdamW kernels up to and including
the second step's), and prints each kernel's share of it, largest first.

    python3 06-cuda/profile_step.py ncu.csv
"""
import collections
import csv
import sys

ADAMW = "adamw_kernel"


def launches(path):
    """(kernel name, nanoseconds) per launch, in launch order."""
    rows = []
    with open(path, newline="") as f:
        lines = [line for line in f if line.startswith('"')]  # skip ncu's own messages
    for row in csv.DictReader(lines):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(row["Metric Value"].replace(",", ""))
        scale = {"nsecond": 1, "usecond": 1e3, "msecond": 1e6}.get(row.get("Metric Unit"), 1)
        rows.append((row["Kernel Name"], value * scale))
    return rows


def second_step(rows):
    """The launches of the second training step: AdamW launches come in one
    run per step, so the step ends with the second run."""
    ends, inside = [], False
    for i, (name, _) in enumerate(rows):
        is_adamw = name.startswith(ADAMW)
        if inside and not is_adamw:
            ends.append(i)
        inside = is_adamw
    if inside:
        ends.append(len(rows))
    if len(ends) < 2:
        sys.exit("profile_step: fewer than two training steps in the profile")
    return rows[ends[0]:ends[1]]


def short(name):
    name = name.split("(")[0]
    return name if len(name) <= 58 else name[:55] + "..."


def main():
    step = second_step(launches(sys.argv[1]))
    total = sum(ns for _, ns in step)
    by_name = collections.defaultdict(lambda: [0, 0.0])
    for name, ns in step:
        by_name[short(name)][0] += 1
        by_name[short(name)][1] += ns
    print(f"one training step: {len(step)} kernel launches, {total / 1e6:.3f} ms of kernel time")
    print(f"{'kernel':58} {'calls':>5} {'ms':>7} {'share':>6}")
    for name, (calls, ns) in sorted(by_name.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:58} {calls:5d} {ns / 1e6:7.3f} {100 * ns / total:5.1f}%")


if __name__ == "__main__":
    main()
