"""``alliance explore``: a local web page where a scenario's parameters move on sliders and the
exact optimum follows (issue 26).

The standard library's ``http.server`` serves one static page (``static/``: HTML, JS, CSS, no build
step, nothing fetched from the internet) and a JSON API on 127.0.0.1 only:

- ``schema``: the pydantic models of every request (one-line 422 messages naming field and range)
- ``compute``: the answers, cached by parameters (the optimum, its archetype per phase, baselines,
  value streams, the trade-off frontier, the patron's modes) and the scenario-file YAML of a point
- ``server``: the HTTP handler and ``make_server``/``serve``
"""
