"""A model trained elsewhere as an evaluation target: a bare SB3 file or an RL Zoo log folder.

``alliance evaluate PATH`` takes, besides a run folder of this project:

- an SB3 or sb3-contrib model file (``model.zip``): the algorithm is read from the archive's plain
  JSON (``data``, never unpickled; :func:`infer_algo`): the module of its policy class names DQN,
  QRDQN, ARS, RecurrentPPO and MaskablePPO; PPO, A2C and TRPO share SB3's ``ActorCriticPolicy`` and
  are told apart by what each stores (TRPO ``cg_max_steps``, PPO ``clip_range`` and ``n_epochs``,
  A2C an on-policy ``n_steps`` with no ``batch_size``). ``--algo`` may name it too; it must agree
  with the archive, and the algorithm must fit the archive's action space (DQN, QRDQN, ARS take
  ``Discrete(96)`` only). A file inside a run folder
  (``model.zip``, ``best_model.zip``, ``checkpoints/*.zip``) is checked against that run's manifest.
- an RL Zoo log folder, ``logs/<algo>/<env id>_<n>/`` as ``rl_zoo3.exp_manager`` writes it::

      <env id>.zip              the final model        best_model.zip   EvalCallback's best
      <env id>/args.yml         the command's arguments (algo, env, env_kwargs, seed)
      <env id>/config.yml       the hyperparameters    rl_model_<steps>_steps.zip   checkpoints

  The Zoo dumps both YAML files as an ``OrderedDict`` (a Python tag that ``yaml.safe_load`` refuses
  and the Zoo reads with PyYAML's unsafe loader): the tag is stripped and the pairs read as plain data,
  so no Python object is ever built. ``env`` must be one of the registered ids (optionally
  ``envs:``-prefixed); its ``env_kwargs`` (``scenario``, ``overrides``) give the default scenario.

Trust: an SB3 archive can carry pickled code, which runs when it is loaded. A file whose sha256 no
manifest records (every file trained elsewhere) is loaded only with ``trust=True`` (``--trust``).
The action space must be the env id's (``MultiDiscrete([4, 2, 3, 4])``, or ``Discrete(96)`` for
``SmallStateAllianceDiscrete-v0``, whose index ``i`` is the joint action ``envs.spaces.ALL_ACTIONS[i]``); the observation space is checked against the scenario by the caller.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymnasium import spaces

from envs.env import action_space
from envs.params import AllianceParams, short_repr
from envs.registration import DISCRETE_ENV_ID, ENV_ID
from envs.scenarios import make_params
from envs.spaces import N_ACTIONS
from training.config.files import parse_yaml
from training.config.hyperparams import ALGOS, DISCRETE_ALGOS, MULTI_DISCRETE_ALGOS, canonical_algo
from training.results import run_folder as rf
from training.results.manifest import read_checked
from training.run.train import load_archive, run_config

ZOO_ORDERED_DICT = "!!python/object/apply:collections.OrderedDict"  # how rl_zoo3 dumps args.yml/config.yml
ZOO_ARGS, ZOO_CONFIG, ZOO_BEST = "args.yml", "config.yml", "best_model.zip"
ENV_ACTION_SPACES = {ENV_ID: action_space(), DISCRETE_ENV_ID: spaces.Discrete(N_ACTIONS)}
MAX_DATA_BYTES = rf.MAX_DATA_BYTES  # an SB3 archive's JSON `data`: a few kB for these networks
MAX_YAML_BYTES = 1_000_000
NEEDS_TRUST = ("no manifest records its sha256 (a model trained elsewhere); an SB3 archive can carry pickled "
               "code that runs when it is loaded: evaluate it with --trust only if you trust its source")


@dataclass(frozen=True)
class Foreign:
    """A model file from elsewhere and what is known of it before it is loaded."""

    path: Path
    algo: str
    algo_from: str  # where the algorithm was read: --algo, args.yml, the archive, the run's config
    env_id: str | None  # the id it was trained on, when known (Zoo)
    params: AllianceParams | None  # its training scenario, when known
    hash_checked: bool
    kind: str  # "zoo" or "file"
    raw: bytes | None = None  # the bytes checked against the run's manifest: the ones loaded


# ------------------------------------------------------------------------------------ layout
def zoo_params_dir(folder: Path) -> Path | None:
    """The ``<env id>/`` sub-folder holding ``args.yml`` or ``config.yml`` of a Zoo log folder."""
    found = [p for p in sorted(folder.iterdir()) if p.is_dir() and ((p / ZOO_ARGS).is_file()
                                                                    or (p / ZOO_CONFIG).is_file())]
    return found[0] if len(found) == 1 else None


def read_zoo_yaml(path: Path) -> dict[str, Any]:
    """A Zoo ``args.yml``/``config.yml`` as a plain dict: its top-level ``OrderedDict`` tag stripped,
    the argument list ``[[[key, value], ...]]`` read as plain YAML (``training.config.files.parse_yaml``).

    :raises ValueError: not readable, too large, or not a mapping / list of pairs (one line)
    """
    if path.stat().st_size > MAX_YAML_BYTES:
        raise ValueError(f"{path}: larger than {MAX_YAML_BYTES:,} bytes: not an RL Zoo {path.name}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text: not an RL Zoo {path.name}") from None
    tagged = text.startswith(ZOO_ORDERED_DICT)
    data = parse_yaml(text[len(ZOO_ORDERED_DICT):] if tagged else text, str(path))
    # the tag applies OrderedDict to its argument list: one list of [key, value] pairs
    pairs = data[0] if tagged and isinstance(data, list) and len(data) == 1 and isinstance(data[0], list) else None
    if pairs is not None and all(isinstance(p, list) and len(p) == 2 for p in pairs):
        data = {k: v for k, v in pairs}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a {type(data).__name__} is not allowed: a mapping (RL Zoo's {path.name})")
    return data


def env_id_of(value: Any, where: str) -> str:
    """A registered id from a Zoo ``env`` entry: the id, or ``envs:ID`` (no other module: the Zoo
    imports the module a prefix names)."""
    module, sep, env_id = value.rpartition(":") if isinstance(value, str) else ("", "", value)
    if env_id not in ENV_ACTION_SPACES or (sep and module != "envs"):
        raise ValueError(f"{where}: env={short_repr(value)} is not allowed: {ENV_ID} or {DISCRETE_ENV_ID} "
                         "(optionally 'envs:'-prefixed)")
    return env_id


def zoo_env_params(env_kwargs: Any, where: str) -> AllianceParams:
    """The training scenario of a Zoo run: its ``env_kwargs`` ``scenario`` (default war) and ``overrides``."""
    kwargs = env_kwargs or {}
    if not isinstance(kwargs, dict) or not set(kwargs) <= {"scenario", "overrides", "max_episode_steps",
                                                           "render_mode"}:
        raise ValueError(f"{where}: env_kwargs={short_repr(env_kwargs)} is not allowed: a mapping of scenario, "
                         "overrides, max_episode_steps, render_mode")
    return make_params(kwargs.get("scenario", "war"), kwargs.get("overrides") or None)


ZOO_NAMES = {"PPO_LSTM": "RecurrentPPO", "PPO_MASK": "MaskablePPO"}  # rl_zoo3's names of sb3-contrib's PPOs
# the module of an archive's policy class -> its algorithm (where the module is the algorithm's own)
POLICY_MODULES = {"stable_baselines3.dqn.": "DQN", "sb3_contrib.qrdqn.": "QRDQN", "sb3_contrib.ars.": "ARS",
                  "sb3_contrib.common.recurrent.": "RecurrentPPO", "sb3_contrib.common.maskable.": "MaskablePPO"}
SPACE_TYPES = {"Discrete": spaces.Discrete(N_ACTIONS), "MultiDiscrete": action_space()}


def check_algo(algo: Any, where: str) -> str:
    """An algorithm's name in any case (or rl_zoo3's ``ppo_lstm``) as its canonical name."""
    name = canonical_algo(algo) or (ZOO_NAMES.get(algo.upper()) if isinstance(algo, str) else None)
    if name is None:
        raise ValueError(f"{where}={short_repr(algo)} is not allowed: one of {', '.join(ALGOS)}")
    return name


def check_fit(algo: str, space: Any, where: str) -> None:
    """One line if ``algo`` cannot act in ``space`` (a MultiDiscrete space for DQN, QRDQN or ARS)."""
    multi = isinstance(space, spaces.MultiDiscrete) or space == "MultiDiscrete"
    if multi and algo in DISCRETE_ALGOS:
        raise ValueError(f"{where}: algo={algo} is not allowed on {ENV_ID}'s MultiDiscrete([4, 2, 3, 4]) actions: "
                         f"there {', '.join(MULTI_DISCRETE_ALGOS)}; {', '.join(DISCRETE_ALGOS)} need "
                         f"{DISCRETE_ENV_ID}'s Discrete(96)")


def archive_data(path: Path) -> dict[str, Any]:
    """An SB3 archive's plain JSON ``data`` (never unpickled)."""
    rf.check_archive(path, path)
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("data"))


def archive_space(data: dict[str, Any]) -> str | None:
    """``Discrete`` or ``MultiDiscrete``: the type name of the archive's action space, if it is one of them."""
    kind = str((data.get("action_space") or {}).get(":type:", ""))
    return next((name for name in SPACE_TYPES if kind.endswith(f".{name}'>")), None)


def infer_algo(path: Path) -> tuple[str | None, str]:
    """The algorithm an SB3/sb3-contrib archive's plain JSON ``data`` shows (never unpickled), and why;
    None if it does not tell (another library's archive)."""
    data = archive_data(path)
    module = str((data.get("policy_class") or {}).get("__module__", ""))
    for prefix, algo in POLICY_MODULES.items():
        if module.startswith(prefix):
            return algo, f"inferred from the archive: policy class in {module}"
    if module == "stable_baselines3.common.policies":  # PPO, A2C and TRPO share ActorCriticPolicy
        if "cg_max_steps" in data:
            return "TRPO", "inferred from the archive: it stores cg_max_steps, as only TRPO does"
        if {"clip_range", "n_epochs"} <= set(data):
            return "PPO", "inferred from the archive: it stores clip_range and n_epochs, as only PPO does"
        if {"n_steps", "vf_coef"} <= set(data) and "batch_size" not in data:
            return "A2C", ("inferred from the archive: an on-policy n_steps with no batch_size, as only A2C "
                           "(of PPO, A2C, TRPO) stores")
    return None, f"the archive does not tell (policy class in {module or 'an unknown module'})"


def _run_folder_of(path: Path) -> Path | None:
    """The run folder holding ``path`` (``model.zip``, ``best_model.zip``, ``checkpoints/…``), if any."""
    for folder in (path.parent, path.parent.parent):
        if (folder / rf.MANIFEST).is_file() and (folder / rf.CONFIG).is_file():
            return folder
    return None


# ------------------------------------------------------------------------------------ resolve
def describe_file(path: Path, algo: str | None, trust: bool) -> Foreign:
    """What is known of a bare SB3 file before loading it; refused unless a manifest lists it or ``trust``.

    :raises ValueError: not an SB3 archive, not trusted, or no algorithm (one line)
    """
    rf.check_archive(path, path)  # a zip bomb is named as one, before the members' CRCs are read
    if not rf._zip_is_whole(path):
        raise ValueError(f"{path}: not an SB3 model archive (a zip holding data and policy.pth)")
    run_dir = _run_folder_of(path)
    raw = None
    if run_dir is not None and not trust:  # a run's own file: its manifest is the trust anchor
        raw = read_checked(run_dir, path.resolve().relative_to(run_dir.resolve()).as_posix())
    elif not trust:
        raise ValueError(f"{path}: {NEEDS_TRUST}")
    found, why = infer_algo(path)
    if algo is not None:
        name = check_algo(algo, "--algo")
        if found is not None and found != name:  # e.g. PPO on a RecurrentPPO archive would drop its memory
            raise ValueError(f"--algo={algo} is not allowed: {path} is a {found} model ({why})")
        found, why = name, "--algo"
    space = archive_space(archive_data(path))
    if run_dir is not None and algo is None:
        cfg = run_config(run_dir, trust)
        check_fit(cfg.algo, space, str(path))
        return Foreign(path, cfg.algo, f"{run_dir / rf.CONFIG}", None, make_params(cfg.env.scenario,
                       dict(cfg.env.overrides) or None), not trust, "file", raw)
    if found is None:
        raise ValueError(f"{path}: --algo is needed ({', '.join(ALGOS)}): {why}")
    check_fit(found, space, str(path))
    return Foreign(path, found, why, None, None, not trust, "file", raw)


def describe_zoo(folder: Path, algo: str | None, best: bool, trust: bool) -> Foreign | None:
    """An RL Zoo log folder's model file and what its layout says; None if ``folder`` is not one.

    :raises ValueError: the model file is missing, the layout disagrees, or not trusted (one line)
    """
    params_dir = zoo_params_dir(folder)
    if params_dir is None:
        return None
    args = read_zoo_yaml(params_dir / ZOO_ARGS) if (params_dir / ZOO_ARGS).is_file() else {}
    hyper = read_zoo_yaml(params_dir / ZOO_CONFIG) if (params_dir / ZOO_CONFIG).is_file() else {}
    where = str(params_dir / ZOO_ARGS)
    env_id = env_id_of(args.get("env", params_dir.name), where if "env" in args else str(params_dir))
    zoo_algo = args.get("algo", folder.parent.name)
    zoo_algo = check_algo(zoo_algo, f"{where}: algo" if "algo" in args else f"{folder.parent}: algo folder")
    if algo is not None and check_algo(algo, "--algo") != zoo_algo:
        raise ValueError(f"--algo={algo} is not allowed: {folder} is a {zoo_algo} run (its {where})")
    check_fit(zoo_algo, ENV_ACTION_SPACES[env_id], where)
    for key in ("normalize", "frame_stack"):
        if hyper.get(key):
            raise ValueError(f"{params_dir / ZOO_CONFIG}: {key}={short_repr(hyper[key])} is not allowed: the "
                             "evaluation feeds the raw observation (no VecNormalize or frame stack)")
    env_kwargs = args.get("env_kwargs") or hyper.get("env_kwargs")
    params = zoo_env_params(env_kwargs, where)
    path = folder / (ZOO_BEST if best else f"{params_dir.name}.zip")
    if not path.is_file():
        hint = "; try --best (best_model.zip is there)" if (folder / ZOO_BEST).is_file() and not best else ""
        raise FileNotFoundError(f"{path}: no such model file in the RL Zoo folder{hint}")
    if not trust:
        raise ValueError(f"{path}: {NEEDS_TRUST}")
    return Foreign(path, zoo_algo, where if "algo" in args else "the Zoo's log folder", env_id, params, False, "zoo")


def load_foreign(info: Foreign) -> Any:
    """Load the model (CPU) and check its action space is its env id's (either, for a bare file).

    :raises ValueError: SB3 cannot load it, or its action space is not the id's (one line)
    """
    source = info.path if info.raw is None else io.BytesIO(info.raw)
    model = load_archive(info.algo, source, where=info.path, device="cpu")
    act = model.action_space
    if info.env_id is not None and act != ENV_ACTION_SPACES[info.env_id]:
        raise ValueError(f"{info.path}: action space {act} is not allowed: {info.env_id} has "
                         f"{ENV_ACTION_SPACES[info.env_id]}")
    return model


def source_of(info: Foreign, model: Any) -> dict[str, Any]:
    """The ``source`` entry of the evaluation (JSON-ready)."""
    act = model.action_space
    env_id = info.env_id or (DISCRETE_ENV_ID if act == ENV_ACTION_SPACES[DISCRETE_ENV_ID] else ENV_ID)
    return {"kind": info.kind, "model": str(info.path), "algo": info.algo, "algo_from": info.algo_from,
            "env_id": env_id, "trained_on": info.params.name if info.params else None,
            "hash_checked": info.hash_checked, "num_timesteps": int(getattr(model, "num_timesteps", 0))}
