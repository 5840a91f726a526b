"""The rules of `premortem check`: one module per problem class.

Each rule is a `Rule` subclass (`rules/base.py`) whose docstring is its documentation, in
four parts (What it does / Why it breaks sites / Example / Fix); `docs/rules/` is generated
from them (`python -m premortem.docs`). Every rule is listed in `premortem.registry.rules()`.
"""
