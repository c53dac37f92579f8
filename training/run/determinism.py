"""The same numbers on every CPU: the vector instructions torch's CPU kernels may use.

torch picks its CPU kernels at the first operation by the host's vector instructions (AVX-512,
AVX2 or none); they differ in the last bits of a sum. PPO and A2C shrug that off; DQN amplifies it
(the argmax over 96 near-tied Q-values picks another action, the replay then differs), so the same
config and seed trained a different DQN on another machine. ATen reads ``ATEN_CPU_CAPABILITY``
once, at the first operation: :func:`pin_cpu_kernels` sets it to :data:`CPU_CAPABILITY`
(``default``: the plain kernels every x86-64 and ARM CPU runs) before that, in the ``alliance``
command's process and in every Ray worker (``runtime_env``). The manifest and a study's
``environment.json`` record what torch actually uses (:func:`cpu_environment`).
"""

from __future__ import annotations

import os
from typing import Any

VARIABLE = "ATEN_CPU_CAPABILITY"
CPU_CAPABILITY = "default"


def pin_cpu_kernels() -> None:
    """Make torch use the plain CPU kernels (call before torch's first operation in the process)."""
    os.environ[VARIABLE] = CPU_CAPABILITY


def runtime_env() -> dict[str, Any]:
    """Ray's ``runtime_env`` giving every worker the same kernels."""
    return {"env_vars": {VARIABLE: CPU_CAPABILITY}}


def cpu_environment() -> dict[str, Any]:
    """What torch uses here: the capability it picked and the variable that pins it."""
    import torch

    return {"torch_cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
            VARIABLE: os.environ.get(VARIABLE)}
