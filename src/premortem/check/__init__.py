"""`premortem check`: the static release check (walk the tree, parse PHP, run the rules)."""
