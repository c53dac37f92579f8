"""``alliance scenarios``: the named scenarios, one line each (docs/model.md section 7)."""

from __future__ import annotations

import argparse

HELP = "list the named scenarios, one line each: name and what it is (a scenario file works wherever a name does)"
EXAMPLES = """examples:
  alliance scenarios                 every named scenario and its reason
  alliance solve configs/scenarios/calendar_west_open.yaml    a scenario file (docs/scenarios.md)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    from envs.scenarios import DESCRIPTIONS, scenario_names

    width = max(len(n) for n in scenario_names())
    for name in scenario_names():
        print(f"{name:{width}s}  {DESCRIPTIONS[name]}")
    print("\nA scenario file (.yaml; docs/scenarios.md) is accepted wherever a name is.")
    return 0
