"""Tools for premortem's own developers (not shipped behaviour): `python -m premortem.dev`."""
