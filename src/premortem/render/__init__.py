"""Renderers of findings: text for people, JSON (the contract), SARIF 2.1.0 for code scanning.

They work on any list of `premortem.model.Finding`, whatever produced it (check's rules,
diagnose's analyzers), plus an optional `stats` mapping.
"""
