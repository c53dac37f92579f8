"""The words of ``REPORT.md``: :func:`render_markdown` turns the study's aggregate into Markdown.

Plain words first, then the numbers. Everything printed comes from the stored results (through
``study.json``'s content); nothing here depends on the time, the machine or how the study ran
(timings, interruptions, uncommitted changes stay in the unit files and environment.json), so the
same results give the same text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from training.config.study import StudyConfig
from training.render.discovery import robust_section
from training.render.tables import ci, fmt, pct, table

SCENARIO_WORDS = {
    "war": "protracted war (Φ4 held), West closed",
    "alt_open": "war, alternatives open (L = 1, no West shock)",
    "low_threat": "war, low threat (τ = .8)",
    "high_id": "war, strong identification (ι = .9)",
    "low_id": "war, no identification (ι = 0)",
    "strong": "war, a strong small state (c = .9)",
    "no_mediation": "war, no mediation opening (q = 0)",
    "timeline": "2014–2024, phases by hazard",
    "calendar": "2014–2024, phases by date",
    "phase0": "hedging era held", "phase1": "regime crisis held", "phase2": "invasion held",
    "phase3": "patron crisis held", "phase4": "protracted war held",
}

QUESTION = """\
A small state lives in an asymmetric alliance with a great power, under random threat shocks.
Which strategy serves it best — fighting alongside the patron (bandwagoning), lending territory
but sending no troops (limited participation), keeping a line open to the other bloc (hedging),
offering mediation, turning to the other side (balancing), or staying out (neutrality)? And how
does the answer move with the four factors of the theory: the threat, the state's own power, its
identification with the alliance, and whether alternative partners exist? The case behind the
model is Belarus in the Russia–Ukraine war, 2014–2024: it backs Russia and lends its territory,
yet sends no troops, recognises no annexation, mediates, and courts far-off partners."""

MODEL = """\
Each quarter the state chooses four things: how far it takes part in the patron's war (abstain,
political support, territory and basing, combat troops), whether it recognises the patron's
annexations, how far it lets itself be integrated (resist, token, deep), and its diplomacy (none,
offer mediation, outreach to far-off partners, a hedging signal to the West). Six variables
describe its world — the phase of the conflict (hedging era, regime crisis, invasion, patron
crisis, protracted war), the threat, its autonomy, the patron's trust, the West's openness and its
far-arc ties — and each moves at most one level a quarter, with probabilities its choices shift
(docs/model.md §5). Its payoff each quarter is Morrow's autonomy–security trade-off in CES form over
security, autonomy and economy, plus a bonus for alignment that fits its identification and a
cost of entrapment (§6); the future is discounted by .95 a quarter. With 5,400 states and 96
joint actions the best strategy can be computed exactly (§10). Every strategy — the optimum, ten
rule-based baselines, and policies trained by PPO, A2C and DQN — is scored exactly by its expected
discounted value from the start state; its *share of V\\** is that value divided by the
optimum's. Strategies are named by the archetype rules of §9 from how often they do what."""

GLOSSARY = [
    ["m_bar (m̄)", "mean participation, 0 abstain · 1 political support · 2 territory/basing · 3 troops"],
    ["f3", "share of quarters with combat troops"],
    ["f2", "share of quarters with territory/basing or more (m >= 2)"],
    ["k_bar (k̄)", "share of quarters recognising the annexations"],
    ["g2", "share of quarters with deep integration"],
    ["f_med, f_far, f_west", "share of quarters offering mediation, reaching out to far-arc partners, "
                             "signalling to the West"],
    ["R_bar (R̄)", "mean trust of the patron, levels 0–4"],
    ["A_bar (Ā)", "mean autonomy, levels 0–5"],
]

STYLISED = """\
- **A stylised model.** Six variables on a few discrete levels, moves of at most one level a
  quarter, one start state per scenario. It encodes the theory's mechanisms; it does not measure
  Belarus."""
STATIONARY = """\
- **Stationary phases.** The `war` family holds one phase fixed forever; `timeline` uses constant
  hazards; `calendar` lets the optimum know the dates of the phases in advance."""
SHARES_OF_V = """\
- **Shares of V\\*.** A share divides two values whose zero point is the reward's; regrets (in
  value units) are given alongside for the learners."""
LEARNERS = """\
- **Learners.** The RL results depend on the training budget, the hyperparameters (tuned on
  `war`, used unchanged elsewhere) and the number of seeds. A learner that misses the optimum says
  something about the learner and its budget, not about the model's optimum, which is exact."""


def swept_params(cfg: StudyConfig) -> list[str]:
    """The model parameters the config's sweeps move (an axis of values names its parameter; an axis of
    named levels moves the parameters its levels override)."""
    found: set[str] = set()
    for sweep in cfg.sweeps.values():
        for axis, levels in sweep.axes.items():
            found |= ({k for over in levels.values() for k in (over or {})} if isinstance(levels, Mapping) else {axis})
    return sorted(found)


def threats_section(cfg: StudyConfig, disc: Mapping | None) -> str:
    """"Threats to validity", generated from the study's config and, with a discovery, its ranges (issue 31:
    written by hand, it said the discovery's sampled parameters were never varied)."""
    swept = ", ".join(f"`{p}`" for p in swept_params(cfg)) or "no parameter"
    lines = [STYLISED]
    param = (f"- **Parameters set, not estimated.** Every number comes from docs/model.md (theory and the case) "
             f"and was fixed before the study ran; none was tuned to make a hypothesis hold. H1–H6 are read at "
             f"those values. The sweeps of this study move {swept}.")
    if disc:
        varied = ", ".join(f"`{p}`" for p in disc.get("params_varied", []))
        fixed = ", ".join(f"`{p}`" for p in disc.get("fixed", {}))
        param += (f" The discovery samples {len(disc['factors'])} factors over their plausible ranges "
                  f"(`{disc.get('ranges', 'the ranges file')}`, docs/uncertainty.md), which move {varied}; held fixed, "
                  f"each with its reason there: {fixed}. The ranges themselves are judgement, written before any "
                  "solve over them.")
    else:
        param += " This study has no discovery: no other parameter is varied."
    lines.append(param)
    lines.append(STATIONARY)
    labels = ("- **Labels are thresholds.** An archetype is the first rule of §9 whose thresholds hold on episode "
              "averages; a statistic near a threshold (say f_med = .29 against .3) can flip a label. The tables give "
              "the statistics themselves")
    if disc:
        labels += (f"; across the sampled space each archetype's share comes with its fragility, the share of samples "
                   f"whose label changes when any one threshold of §9 moves by ±{disc.get('shift', 0.02):g}")
    lines.append(labels + ".")
    lines += [SHARES_OF_V, LEARNERS]
    exact = ("- **Exact, not sampled, at a point.** Values, shares and archetype statistics are computed exactly "
             "from the model (no sampling error). The intervals concern the seeds of the learners (RL), the spread "
             "of baselines over scenarios")
    if disc:
        exact += (", and, for the discovery, which parameter vectors were drawn: a share of samples comes with a "
                  f"{disc.get('interval_method', '95 % bootstrap interval')}; Sobol indices with SALib's bootstrap "
                  "intervals")
    lines.append(exact + ".")
    return "\n".join(lines)


def figure(figs: Mapping[str, str], key: str, caption: str) -> str:
    return f"![{caption}]({figs[key]})\n\n*{caption}*\n" if key in figs else ""


def counted(criteria: Sequence[Mapping]) -> list[Mapping]:
    """The criteria a verdict counts (a fallback is shown, not counted)."""
    return [c for c in criteria if not c.get("fallback")]


def status(c: Mapping) -> str:
    return c.get("status", "holds" if c["holds"] else "fails")


def held(h: Mapping) -> str:
    """'3/5' (criteria that hold of those counted), with the undecided ones when there are any."""
    cs = counted(h["criteria"])
    undecided = sum(status(c) == "undecided" for c in cs)
    return f"{sum(c['holds'] for c in cs)}/{len(cs)}" + (f" ({undecided} undecided)" if undecided else "")


def _verdict_line(h: Mapping) -> str:
    if h["verdict"] == "untested":
        return f"**Verdict: untested.** {h['note']}"
    cs = counted(h["criteria"])
    n, n_held = len(cs), sum(c["holds"] for c in cs)
    undecided = [c["text"] for c in cs if status(c) == "undecided"]
    line = f"**Verdict: {h['verdict']}** — {n_held} of {n} criteria hold"
    line += f", {len(undecided)} undecided." if undecided else "."
    failed = [c["text"] for c in cs if status(c) == "fails"]
    if failed and (n_held or undecided):
        line += " Not holding: " + "; ".join(failed) + "."
    fallbacks = [c for c in h["criteria"] if c.get("fallback")]
    if fallbacks:
        line += " " + " ".join(f"Fallback (not counted): {c['text'].split(': ', 1)[-1]} — "
                               f"{'holds' if c['holds'] else 'fails'}." for c in fallbacks)
    return line


MARK = {"holds": "yes", "fails": "no", "undecided": "undecided"}


def across_part(h: Mapping) -> list[str]:
    """The same criteria across the sampled space (issue 31), when the study has a discovery."""
    acr = h.get("across") or {}
    rows = [[("fallback: " if r.get("fallback") and not r["text"].startswith("fallback") else "") + r["text"],
             r["basis"], f"{r['n']:,}", f"{pct(r['share'])} [{pct(r['low'])}, {pct(r['high'])}]" if r["n"] else "—"]
            for r in acr.get("readings", [])]
    if not rows and not acr.get("not_read"):
        return []
    out = ["**Across the sampled space** (the same criteria, read on each sample of the discovery or, for a "
           "one-factor claim, on the design's one-at-a-time pairs; share where the criterion holds, 95 % interval "
           "over the design's independent units):", ""]
    if rows:
        out += [table(["criterion", "read on", "n", "holds in [95 % interval]"], rows), ""]
    if acr.get("not_read"):
        out += [acr["not_read"][0].upper() + acr["not_read"][1:] + ".", ""]
    return out


def across_words(h: Mapping) -> str:
    """' Across the sampled space: <criterion> in <share> [interval]; …' for the headline readings."""
    rs = [r for r in (h.get("across") or {}).get("readings", []) if r.get("headline", True) and r["n"]]
    if not rs:
        return ""
    return " *Across the sampled space:* " + "; ".join(
        f"{r['text']}: {pct(r['share'])} of {r['basis'].split(' of ')[0]} [{pct(r['low'])}, {pct(r['high'])}]"
        for r in rs) + "."


def hypothesis_section(h: Mapping, figs: Mapping[str, str], fig_keys: Sequence[tuple[str, str]]) -> str:
    parts = [f"### {h['id']} — {h['title']}", "", f"**Claim.** {h['claim']}", ""]
    if h.get("summary"):
        parts += [f"**In plain words.** {h['summary']}", ""]
    parts += [_verdict_line(h), ""]
    if h["criteria"]:
        parts += [table(["criterion (threshold)", "observed", "holds"],
                        [[c["text"], c["observed"],
                          MARK[status(c)] + (" (fallback, not counted)" if c.get("fallback") else "")]
                         for c in h["criteria"]]), ""]
    if h["table"]["rows"]:
        parts += [table(h["table"]["columns"], h["table"]["rows"]), ""]
    if h.get("note") and h["verdict"] != "untested":
        parts += [h["note"], ""]
    parts += across_part(h)
    for key, caption in fig_keys:
        text = figure(figs, key, caption)
        if text:
            parts += [text]
    return "\n".join(parts)


HYPOTHESIS_FIGURES = {
    "H1": [("baselines_war", "Every baseline's exact value in `war` as a share of the optimum's.")],
    "H2": [("grid_ta", "The optimal archetype over the threat × alternatives grid (on `war`).")],
    "H3": [],
    "H4": [("grid_ic", "The optimal archetype over identification ι × power c (on `war`).")],
    "H5": [],
    "H6": [("phase_actions", "The optimum's action shares in each phase (grey: phase not visited). m: 0 abstain, "
                             "1 political support, 2 territory/basing, 3 troops; k: 1 recognise; g: 0 resist, 1 token, "
                             "2 deep integration; d: 0 none, 1 mediation, 2 far-arc outreach, 3 West signal."),
           ("calendar", "The optimum's action shares quarter by quarter along the 2014–2024 calendar.")],
}


STAT_COLUMNS = ("m_bar", "f2", "f3", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar", "A_bar")


def glance_section(study: Mapping, scenarios: Mapping[str, Mapping], figs: Mapping[str, str]) -> str:
    rows = [[f"`{r['scenario']}`", SCENARIO_WORDS.get(r["scenario"], ""), r["label"], fmt(r["value"]),
             f"`{r['best_baseline']}`", fmt(r["best_share"]), fmt(r["limited"]), fmt(r["bandwagon"])]
            for r in study["glance"]]
    verdicts = [[h["id"], h["title"], f"**{h['verdict']}**", held(h)] for h in [*study["hypotheses"], study["rl"]]]
    findings = [f"- **{h['id']} ({h['verdict']}{' at the default point' if h.get('across', {}).get('readings') else ''}).**"
                f" {h['summary'] or h['note']}{across_words(h)}" for h in [*study["hypotheses"], study["rl"]]]
    parts = ["## Results at a glance", "", "In plain words (each claim is tested in its section below):", "",
             *findings, "",
             "For each scenario: the archetype of the exact optimum, its value V*, the best of the ten baselines "
             "and its share of V*, and the shares of `limited` and `bandwagon`.", ""]
    if rows:
        parts += [table(["scenario", "what it is", "optimal archetype", "V*", "best baseline", "its share",
                         "`limited`", "`bandwagon`"], rows), ""]
    stats = [[f"`{n}`", a["optimum"]["label"], *[fmt(a["optimum"]["stats"][k], 2) for k in STAT_COLUMNS],
              f"`{a['optimum']['nearest_baseline']}`"] for n, a in scenarios.items()]
    if stats:
        parts += ["What the optimum does in each scenario (the statistics behind its archetype; an archetype "
                  "is the first rule of docs/model.md §9 that holds, so a value just past a threshold — say k̄ = .31 "
                  "against .3 — changes the name, not the strategy). The nearest baseline is the closest by the nine "
                  "statistics of §9 (R̄ / 4); `random` is often close because its averages sit mid-scale "
                  "(m̄ 1.5, f2 .5), so read it as \"no single rule\" rather than as randomness:", "",
                  table(["scenario", "optimal archetype", *STAT_COLUMNS, "nearest baseline"], stats), ""]
    parts += [table(["", "hypothesis", "verdict", "criteria held"], verdicts), ""]
    parts += [figure(figs, "baselines_all", "Each baseline's share of V*, averaged over the named scenarios.")]
    return "\n".join(p for p in parts if p is not None)


def rl_section(rl: Mapping, figs: Mapping[str, str]) -> str:
    parts = ["## Do the learners find the optimum?", "", f"**Claim.** {rl['claim']}", ""]
    if rl["verdict"] == "untested":
        return "\n".join(parts + [rl["note"], ""])
    parts += ["Each run's greedy policy is read off on every state (and quarter) and evaluated exactly against "
              "the optimum: its value, its regret V* − V^π, and its archetype compared with the optimum's. "
              "IQM and 95 % stratified-bootstrap intervals are over seeds within scenarios (rliable).", "",
              f"**In plain words.** {rl['summary']}", "", _verdict_line(rl), "",
              table(["criterion (threshold)", "observed", "holds"],
                    [[c["text"], c["observed"], "yes" if c["holds"] else "no"] for c in rl["criteria"]]), "",
              table(rl["table"]["columns"], rl["table"]["rows"]), "", rl.get("note", ""), ""]
    rows = []
    for algo, v in rl["algos"].items():
        for s, m in v["per_scenario"].items():
            labels = ", ".join(f"{k} ×{n}" for k, n in m["labels"].items())
            rows.append([algo, f"`{s}`", m["n"], fmt(m["share"]), fmt(m["regret"]), fmt(m["near_optimal"]),
                         labels, m["optimal_label"]])
    parts += ["Per scenario (means over seeds; *near-optimal* is the share of the policy's own occupancy on "
              "actions within .01 of the best, §10):", "",
              table(["algorithm", "scenario", "runs", "share of V*", "regret", "near-optimal", "archetypes found",
                     "optimum's archetype"], rows), ""]
    if rl["poi"]:
        parts += ["Probability that a run of X beats a run of Y on share of V* (95 % CI):", "",
                  table(["X", "Y", "P(X > Y) [95 % CI]"], [[x, y, ci(iv, 2)] for x, y, iv in rl["poi"]]), ""]
    parts += [figure(figs, "rl_share", "Share of V* reached by the trained policies.")]
    for key in sorted(k for k in figs if k.startswith("learning_")):
        parts += [figure(figs, key, f"Learning curves on `{key[len('learning_'):]}`.")]
    return "\n".join(parts)


def sensitivity_section(study: Mapping, figs: Mapping[str, str]) -> str:
    parts = ["## Sensitivity", "",
             "Two numbers of the model carry much of the weight against bandwagoning: the entrapment cost of "
             "sending troops or lending territory (§6 `trap`) and the autonomy lost to deep integration (§5.3). "
             "Each is multiplied by 0.5, 1 and 2 on `war`; does the optimal archetype survive?", ""]
    names = {"entrapment_scale": "entrapment ×", "deep_cost_scale": "deep-integration cost ×"}
    rows = []
    for sweep, title in names.items():
        for r in study["sweeps"].get(sweep, []):
            rows.append([title, fmt(r[f"coord:{sweep}"], 2), r["label"], fmt(r["value"]),
                         *[fmt(r[k]) for k in ("m_bar", "f2", "f3", "k_bar", "g2", "f_med")],
                         f"`{r['best_baseline']}` {fmt(r['best_share'])}"])
    if not rows:
        return "\n".join(parts + ["The study has no sensitivity sweeps.", ""])
    labels = {sweep: {r["label"] for r in study["sweeps"].get(sweep, [])} for sweep in names}
    said = [f"{names[s][:-2]}: the optimal archetype is " + ("the same at every scale" if len(v) == 1
                                                               else "not the same at every scale (" + ", ".join(sorted(v)) + ")")
            for s, v in labels.items() if v]
    parts += [table(["number", "scale", "optimal archetype", "V*", "m_bar", "f2", "f3", "k_bar", "g2", "f_med",
                     "best baseline"], rows), "", "; ".join(said) + ".", "",
              figure(figs, "sensitivity", "The optimal archetype when a number is scaled.")]
    return "\n".join(parts)


def reproduce_section(cfg: StudyConfig, data: Mapping, study: Mapping) -> str:
    env = data.get("environment", {})
    versions = env.get("versions", {})
    git = env.get("git") or {}
    config = cfg.source or "CONFIG"
    parts = ["## Reproduce", "", "```bash",
             f".venv/bin/alliance study {config}                 # runs what is missing, then writes this report",
             f".venv/bin/alliance study {config} --report-only   # re-renders the report from the stored results",
             "```", ""]
    if cfg.name == "quick":
        parts += ["`make run` runs the first command for this config.", ""]
    rows = [["config", f"`{config}`"], ["results", f"`{cfg.out}/` (exact/, sweeps/, runs/, tables/, figures/, study.json)"],
            ["named scenarios", ", ".join(f"`{s}`" for s in cfg.scenarios)],
            ["sweeps", "; ".join(f"`{n}` ({len(study['sweeps'].get(n, []))} points)" for n in cfg.sweeps) or "none"]]
    if cfg.rl is not None:
        steps = cfg.rl.total_timesteps
        steps = ", ".join(f"{a} {n:,}" for a, n in steps.items()) if isinstance(steps, Mapping) else f"{steps:,}"
        rows += [["RL", f"{', '.join(cfg.rl.algos)} on {', '.join(f'`{s}`' for s in cfg.rl.scenarios)}; seeds "
                        f"{', '.join(map(str, cfg.rl.seeds))}; {steps} steps per run; templates "
                        + ", ".join(sorted({f"`{cfg.rl.template(a, sc)}`" for a in cfg.rl.algos
                                            for sc in cfg.rl.scenarios}))]]
    rows += [["units", f"{study['units']['analyses']} exact analyses, {study['units']['runs']} RL runs"],
             ["bootstrap", f"{cfg.bootstrap_reps} replications, seed {cfg.bootstrap_seed}"]]
    if versions:
        rows.append(["packages", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))])
    if git.get("commit"):
        rows.append(["source", f"git {git['commit'][:12]}"])
    return "\n".join(parts + [table(["", ""], rows), ""])


def render_markdown(cfg: StudyConfig, data: Mapping, study: Mapping, figs: Mapping[str, str], why: str = "") -> str:
    """The whole report as one string; ``why`` is the section "Why the optimum wins" (``training.render.why``),
    placed after the hypotheses."""
    config = cfg.source or "CONFIG"
    parts = ["# Where do limited participation, hedging and mediation come out optimal?", "",
             f"*Study `{cfg.name}`, rendered by `alliance study {config}` from the stored results in `{cfg.out}/`.*", ""]
    if study["missing"]:
        shown = ", ".join(f"`{m}`" for m in study["missing"][:8]) + (" …" if len(study["missing"]) > 8 else "")
        parts += [f"> **Incomplete:** {len(study['missing'])} units have no stored result yet ({shown}); "
                  "their hypotheses may be untested. Run the study again to finish it.", ""]
    parts += ["## The question", "", QUESTION, "", "## The model in a paragraph", "", MODEL, "",
              "The statistics used below are averages over the episode (80 quarters; 44 for `timeline` and "
              "`calendar`) from the start state, under the strategy's own state distribution:", "",
              table(["statistic", "meaning"], GLOSSARY), "",
              robust_section(data.get("discovery"), study["hypotheses"], figs), glance_section(study, data["scenarios"], figs), "",
              "## The hypotheses", "",
              "Each hypothesis is turned into explicit criteria with the thresholds shown (≈ 0 means at most .05; a "
              "statistic *moves* when it changes by more than .05), read at docs/model.md's values. **supported**: "
              "every criterion holds; **refuted**: every one fails; **mixed**: some hold and some fail; "
              "**undecided**: some criteria cannot be decided (their intervals overlap) and the others do not "
              "disagree. Criteria are as first written; a later, alternative reading is shown as a *fallback* and "
              "not counted. Where the study has a discovery, each section then reads the same criteria across the "
              "sampled space.", ""]
    for h in study["hypotheses"]:
        parts += [hypothesis_section(h, figs, HYPOTHESIS_FIGURES.get(h["id"], [])), ""]
    if why:
        parts += [why, ""]
    parts += [rl_section(study["rl"], figs), "", sensitivity_section(study, figs), "",
              "## Threats to validity", "", threats_section(cfg, data.get("discovery")), "",
              reproduce_section(cfg, data, study)]
    return "\n".join(parts).rstrip() + "\n"
