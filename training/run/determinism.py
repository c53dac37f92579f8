"""The same numbers on every CPU: which vector instructions torch's CPU arithmetic may use.

Two libraries inside torch pick their code at run time by the host's vector instructions (AVX-512,
AVX2, SSE), and the choices differ in the last bits of a sum:

- ATen, torch's own kernels (elementwise ops, reductions), reads ``ATEN_CPU_CAPABILITY`` once, at
  torch's first operation;
- Intel MKL, torch's BLAS (every ``Linear`` layer's matrix product), reads ``MKL_CBWR`` (its
  "conditional numerical reproducibility" switch) at its first call.

PPO and A2C shrug the last bits off; DQN amplifies them (the argmax over 96 near-tied Q-values picks
another action, the replay then differs), so the same config and seed trained a different DQN on
another machine: first through ATen (AVX2 against AVX-512), then, with ATen pinned, through MKL.
:func:`pin_cpu_kernels` sets both before torch's first operation, in the ``alliance`` command's
process and in every Ray worker (``runtime_env``): ATen's ``default`` kernels (plain code every
x86-64 and ARM CPU runs) and MKL's ``COMPATIBLE`` branch (the code path Intel documents as giving
the same results on every Intel and compatible x86 CPU). The manifest and a study's
``environment.json`` record what torch uses (:func:`cpu_environment`), and an RL unit's content key
includes :data:`PINS`, so a study made under other settings is trained again, not reused.
"""

from __future__ import annotations

import os
from typing import Any

PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "default",  # ATen: the plain kernels, not AVX2/AVX-512
    "MKL_CBWR": "COMPATIBLE",  # MKL: the same matrix products on every x86 CPU
}


def pin_cpu_kernels() -> None:
    """Pin torch's CPU arithmetic to :data:`PINS` (call before torch's first operation in the process)."""
    os.environ.update(PINS)


def runtime_env() -> dict[str, Any]:
    """Ray's ``runtime_env`` giving every worker the same arithmetic."""
    return {"env_vars": dict(PINS)}


def cpu_environment() -> dict[str, Any]:
    """What torch uses here: the ATen capability it picked and the variables that pin it."""
    import torch

    return {"torch_cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
            **{name: os.environ.get(name) for name in PINS}}
