"""`premortem report`: the postmortem of an incident, written from what was recorded.

- `impact`: the incident's impact measured from the access log over its window;
- `measures`: corrective measures suggested by the root-cause rule;
- `build`: joins the incident, its events, its diagnosis and its impact into a `Report`;
- `chart`: the error rate over time with deploy, detection, diagnosis and recovery marked;
- `markdown`, `html`: renderers (JSON is `Report.to_dict()`).
"""
