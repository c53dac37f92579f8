"""docs/model.md says what the code computes: every parameter value of ``envs/`` is in its tables,
its sections keep the numbering the code cites, its internal links land, and the equation tables
can be checked against ``envs/model.py`` where a mechanical check is cheap.

Values are read from the Markdown table rows (cells split on ``|``), never by a substring search of
the whole page, and compared with the code's values: a changed default, table entry, weight or
scenario override in ``envs/`` (or in the page) fails these tests.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import fields
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from envs.params import N_PHASES, PER_PHASE_FIELDS, AllianceParams
from envs.scenarios import SCENARIOS, make_params

DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"
TEXT = DOC.read_text(encoding="utf-8")

# The sections as the contract numbers them (7 and 8 without their parenthetical subtitles);
# the code cites them as "section N" / "§N".
SECTIONS = {
    1: "Theory the model encodes",
    2: "State (5 · 4 · 6 · 5 · 3 · 3 = 5,400 states)",
    3: "Actions: `MultiDiscrete([4, 2, 3, 4])` (96 joint actions)",
    4: "Parameters",
    5: "One step, in this order",
    6: "Reward r(s, a): Morrow's utility in CES form",
    7: "Scenarios",
    8: "Baselines",
    9: "Strategy archetypes",
    10: "Exact solution",
    11: "The strategic patron",
}
STEPS = {1: "Mediation", 2: "Phase", 3: "Moves", 4: "Entering a phase (the shock)", 5: "Reward"}


# --------------------------------------------------------------------------- Markdown parsing
def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table of ``text``: (header cells, body rows of cells). Code blocks are skipped."""
    out, block, fenced = [], [], False
    for line in text.splitlines() + [""]:
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
        if not fenced and stripped.startswith("|") and stripped.endswith("|"):
            block.append([c.strip() for c in stripped[1:-1].split("|")])
            continue
        if len(block) >= 2 and set("".join(block[1])) <= set("-: "):
            out.append((block[0], block[2:]))
        block = []
    return out


def table_with(header: list[str]) -> list[list[str]]:
    """The body of the only table whose header is ``header``."""
    found = [rows for head, rows in tables(TEXT) if head == header]
    assert len(found) == 1, f"docs/model.md has {len(found)} tables with the header {header}"
    return found[0]


def code_span(cell: str) -> str:
    """The text of the single code span of a cell (`...`)."""
    spans = re.findall(r"`([^`]*)`", cell)
    assert len(spans) == 1, f"expected one code span in the cell {cell!r}"
    return spans[0]


def literal(text: str):
    """A number (``0.8``, ``1/26``), tuple, ``None`` or bool written in the page, evaluated exactly:
    literals, tuples, ``a/b`` fractions, ``+`` and ``*`` of tuples — nothing else is accepted."""

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | bool | type(None)):
            return node.value
        if isinstance(node, ast.Tuple):
            return tuple(ev(e) for e in node.elts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Div):
                return float(Fraction(left) / Fraction(right))
            if isinstance(node.op, ast.Add) and isinstance(left, tuple):
                return left + right
            if isinstance(node.op, ast.Mult) and isinstance(left, tuple):
                return left * right
        raise ValueError(f"not a literal the page may use: {ast.dump(node)}")

    return ev(ast.parse(text.strip(), mode="eval").body)


def number(cell: str) -> float:
    value = literal(cell)
    assert isinstance(value, int | float) and not isinstance(value, bool), f"not a number: {cell!r}"
    return float(value)


def same(a, b) -> bool:
    """Equal values, numbers to 1e-12 (so 1/26 written as a fraction matches the float)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or (a == b and type(a) is type(b))
    return abs(float(a) - float(b)) <= 1e-12


# --------------------------------------------------------------------------- the parameter tables
PER_PHASE_HEADER = ["parameter", "field", "Φ0", "Φ1", "Φ2", "Φ3", "Φ4"]
SCALAR_HEADER = ["parameter", "field", "value", "reason / source"]
SCENARIO_HEADER = ["scenario", "base", "overrides", "reason"]


def per_phase_rows() -> dict[str, tuple[float, ...]]:
    out = {}
    for row in table_with(PER_PHASE_HEADER):
        assert len(row) == 2 + N_PHASES, f"per-phase row {row} has {len(row)} cells"
        out[code_span(row[1])] = tuple(number(c) for c in row[2:])
    return out


def scalar_rows() -> dict[str, object]:
    out = {}
    for row in table_with(SCALAR_HEADER):
        assert len(row) == 4 and row[3], f"scalar row {row} needs a value and a reason"
        out[code_span(row[1])] = literal(row[2])
    return out


def test_every_field_of_the_parameters_has_one_row_with_its_default():
    defaults = AllianceParams()
    per_phase, scalars = per_phase_rows(), scalar_rows()
    documented = list(per_phase) + list(scalars)
    names = [f.name for f in fields(AllianceParams) if f.name != "name"]
    assert sorted(documented) == sorted(names), "rows of the parameter tables != fields of AllianceParams"
    for name in PER_PHASE_FIELDS:
        assert same(per_phase[name], getattr(defaults, name)), f"{name}: page {per_phase[name]}, code {getattr(defaults, name)}"
    for name, value in scalars.items():
        assert same(value, getattr(defaults, name)), f"{name}: page {value!r}, code {getattr(defaults, name)!r}"


def test_the_reward_weights_row_holds_the_three_weights_in_order():
    assert same(scalar_rows()["weights"], AllianceParams().weights)
    assert sum(scalar_rows()["weights"]) == pytest.approx(1.0, abs=1e-12)


def _changed(value):
    """A value that differs from ``value`` (numbers nudged, booleans flipped, None made a tuple)."""
    if isinstance(value, bool):
        return not value
    if value is None:
        return ()
    if isinstance(value, tuple):
        return (_changed(value[0]),) + value[1:]
    return value + 1


def test_a_changed_value_in_the_code_fails_the_comparison_of_every_row():
    """Each row is compared for real: the code's default with one entry changed no longer matches."""
    defaults = AllianceParams()
    rows = {**per_phase_rows(), **scalar_rows()}
    for name, page in rows.items():
        assert not same(page, _changed(getattr(defaults, name))), f"row {name} matches a changed value"


# --------------------------------------------------------------------------- scenarios
def overrides_of(cell: str) -> dict[str, object]:
    """``name=value, name=value`` in the cell's code span, or ``(none)``."""
    if "`" not in cell:
        assert cell == "(none)", f"an overrides cell without code: {cell!r}"
        return {}
    call = ast.parse(f"f({code_span(cell)})", mode="eval").body
    assert isinstance(call, ast.Call) and not call.args, f"overrides must be name=value pairs: {cell!r}"
    return {kw.arg: literal(ast.unparse(kw.value)) for kw in call.keywords}


def scenario_rows() -> dict[str, tuple[str, dict[str, object], str]]:
    out = {}
    for row in table_with(SCENARIO_HEADER):
        assert len(row) == 4 and row[3], f"scenario row {row} needs a reason"
        out[code_span(row[0])] = (row[1], overrides_of(row[2]), row[3])
    return out


def _base(cell: str) -> AllianceParams:
    return AllianceParams() if cell == "defaults" else make_params(code_span(cell))


def test_every_named_scenario_has_a_row_and_no_other():
    assert sorted(scenario_rows()) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_is_its_base_with_the_overrides_the_page_lists(name):
    base_cell, overrides, _ = scenario_rows()[name]
    documented = _base(base_cell).with_overrides(overrides, name=name)
    assert documented == make_params(name), f"{name}: the page's base and overrides do not give the code's scenario"


def test_a_changed_override_is_caught():
    base_cell, overrides, _ = scenario_rows()["strong"]
    assert _base(base_cell).with_overrides({**overrides, "power": 0.8}, name="strong") != make_params("strong")


def test_the_calendar_table_matches_the_calendar():
    rows = table_with(["phase", "steps t", "quarters"])
    cal = make_params("calendar").calendar
    for ph, row in enumerate(rows):
        lo, _, hi = row[1].partition("..")
        steps = range(int(lo), int(hi or lo) + 1)
        assert row[0].startswith(f"Φ{ph} ")
        assert [t for t, p in enumerate(cal) if p == ph] == list(steps)


# --------------------------------------------------------------------------- structure
def headings(level: int) -> list[str]:
    lines, fenced, out = TEXT.splitlines(), False, []
    for line in lines:
        if line.strip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{{level}}} ", line):
            out.append(line[level + 1:].strip())
    return out


def test_sections_carry_the_numbers_1_to_11_with_the_contracts_titles():
    numbered = [h for h in headings(2) if re.match(r"\d+\. ", h)]
    assert [int(h.split(".")[0]) for h in numbered] == list(range(1, 12))
    assert numbered == [f"{n}. {title}" for n, title in SECTIONS.items()]


def test_section_5_numbers_its_steps_5_1_to_5_5_in_order():
    steps = [h for h in headings(3) if h.startswith("5.")]
    assert steps == [f"5.{n} {title}" for n, title in STEPS.items()]
    order = [TEXT.index(f"## {n}. ") for n in range(1, 12)]
    assert order == sorted(order)
    sec5, sec6 = TEXT.index("## 5. "), TEXT.index("## 6. ")
    assert all(sec5 < TEXT.index(f"### 5.{n} ") < sec6 for n in STEPS)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def test_internal_links_land_and_no_link_leaves_the_repository():
    slugs = {github_slug(h) for level in (1, 2, 3) for h in headings(level)}
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", TEXT, flags=re.S))
    links = re.findall(r"\]\(([^)\s]+)\)", prose)
    assert links
    for target in links:
        assert "://" not in target and not target.startswith("/"), f"link outside the repository: {target}"
        if target.startswith("#"):
            assert target[1:] in slugs, f"anchor {target} is not a heading of docs/model.md"
        else:
            assert (DOC.parent / target.split("#")[0]).exists(), f"link to a missing file: {target}"


# --------------------------------------------------------------------------- equations (optional check)
MOVE_HEADER = ["var", "Pr(up)", "Pr(down)"]
VAR_COLUMN = {"T": 0, "A": 1, "R": 2, "W": 3, "X": 4}  # columns of envs.model's (N, 5) arrays


NAMES = r"aw|ax|iota|tau|kappa|c|L|IP|D|T|A|R|W|X|M|m|k|g|d|S|Aut|Econ|shield|trap|w_S|w_A|w_E"


def _as_python(formula: str) -> str:
    """The page's notation as a Python expression over numpy arrays: [x] -> (x), (x)₊ ->
    np.maximum(x, 0), √x -> np.sqrt(x), (…)² -> (…)**2, Greek letters and subscripts to names,
    implicit products (``.25(τ−T)₊``, ``.04T``, ``)(``, ``α_W L_Φ``) made explicit."""
    s = formula
    for old, new in (("−", "-"), ("·", "*"), ("≥", ">="), ("≤", "<="), ("≠", "!="), ("²", "**2"),
                     ("α_W", " aw "), ("α_X", " ax "), ("L_Φ", " L "), ("τ", " tau "), ("ι", " iota "),
                     ("κ", " kappa "), ("clip(", "np.clip(")):
        s = s.replace(old, new)
    s = re.sub(r"√(\w+)", r" np.sqrt(\1) ", s)
    s = re.sub(r"\(([^()]*)\)₊", r" np.maximum(\1, 0) ", s)
    s = re.sub(r"\[([^\]]*)\]", lambda m: " (" + re.sub(r"(?<![<>!=])=(?!=)", "==", m.group(1)) + ") ", s)
    s = re.sub(r"(?<![\w.])\.(\d)", r"0.\1", s)  # .05 -> 0.05
    s = re.sub(r"(\d|\))\s*(?=[A-Za-zΦ(])", r"\1*", s)  # 0.25(…, 0.04T, )( -> explicit products
    s = re.sub(rf"\b({NAMES})\b\s*(?=[A-Za-zΦ(])", r"\1*", s)  # aw L, iota (…, kappa R
    return s


def _variables(p, s: np.ndarray, a: np.ndarray, mediated: int) -> dict:
    ph = s[:, 0]
    per_phase = {name: np.asarray(getattr(p, field), dtype=np.float64)[ph]
                 for name, field in (("tau", "tau"), ("D", "demand"), ("IP", "pressure"), ("L", "lockout"),
                                     ("kappa", "capacity"))}
    return {"np": np, "Φ": ph, **{v: s[:, i + 1] * 1.0 for i, v in enumerate("TARWX")},
            **{v: a[:, i] * 1.0 for i, v in enumerate("mkgd")}, "M": float(mediated), "c": p.power,
            "iota": p.identification, "aw": p.alpha_west, "ax": p.alpha_far, **per_phase,
            "w_S": p.weights[0], "w_A": p.weights[1], "w_E": p.weights[2]}


def _sample(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    from envs.spaces import ALL_ACTIONS, ALL_STATES

    rng = np.random.default_rng(0)
    return ALL_STATES[rng.integers(0, len(ALL_STATES), n)], ALL_ACTIONS[rng.integers(0, len(ALL_ACTIONS), n)]


def reward_block() -> dict[str, str]:
    """The assignments of §6's code block (``name = formula``, continuation lines joined, the
    trailing ``(entrapment)``-style labels dropped), in order."""
    sec = TEXT[TEXT.index("## 6. "):TEXT.index("## 7. ")]
    block = re.search(r"```\n(.*?)```", sec, flags=re.S).group(1)
    lines = [re.sub(r"\s{3,}\([a-z ]+\)\s*$", "", line) for line in block.splitlines() if line.strip()]
    out: dict[str, str] = {}
    for line in lines:
        if line[0].isspace():
            out[list(out)[-1]] += " " + line.strip()
        else:
            name, _, formula = line.partition("=")
            out[name.strip()] = formula.strip()
    return out


@pytest.mark.parametrize("scenario", ["war", "phase0", "phase3", "high_id", "strong"])
def test_the_reward_block_computes_what_envs_model_computes(scenario):
    """§6's formulas, evaluated in order as written, equal ``envs.model.reward_terms``."""
    from envs import model

    p = make_params(scenario)
    s, a = _sample()
    expected = model.reward_terms(s, a, p)
    env = _variables(p, s, a, 0)
    block = reward_block()
    assert list(block) == ["shield", "trap", "S", "Aut", "Econ", "r"]
    code_name = {"shield": "shield", "trap": "trap", "S": "security", "Aut": "autonomy", "Econ": "economy",
                 "r": "reward"}
    for name, formula in block.items():
        env[name] = np.broadcast_to(eval(_as_python(formula), env), s.shape[:1])  # noqa: S307
        np.testing.assert_allclose(env[name], expected[code_name[name]], rtol=0, atol=1e-12,
                                   err_msg=f"{name} = {formula}")


@pytest.mark.parametrize("scenario", ["war", "phase0", "phase3", "alt_open", "strong"])
@pytest.mark.parametrize("mediated", [0, 1])
def test_the_move_table_computes_what_envs_model_computes(scenario, mediated):
    """Each Pr(up)/Pr(down) formula of §5.3, evaluated as written on every state-action, equals
    ``envs.model.raw_move_probs`` (before clipping)."""
    from envs import model

    p = make_params(scenario)
    s, a = _sample()
    up, down = model.raw_move_probs(s, a, mediated, p)
    env = _variables(p, s, a, mediated)
    rows = table_with(MOVE_HEADER)
    assert sorted(code_span(r[0]) if "`" in r[0] else r[0] for r in rows) == sorted(VAR_COLUMN)
    for var, up_cell, down_cell in rows:
        j = VAR_COLUMN[var]
        for cell, expected in ((up_cell, up[:, j]), (down_cell, down[:, j])):
            got = np.broadcast_to(eval(_as_python(code_span(cell)), env), expected.shape)  # noqa: S307
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, err_msg=f"{var}: {code_span(cell)}")
