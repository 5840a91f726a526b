"""Analyzers: one module per problem class, each a pure function over the collected evidence.

Every module defines one `Analyzer` subclass (`analyzers/base.py`) whose docstring is its
documentation, listed in `premortem.registry.analyzers()`. Findings quote their evidence as
`Quote(source, text)`; a cause seen by several sources ranks above one seen by a single source.
"""
