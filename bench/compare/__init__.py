"""`edgebench compare`: every chosen framework and optimization on one model, in shuffled rounds.

presets (the table of named configs) -> plan (parse and check, name the compare, what is left to resume)
-> run (convert first, then rounds of shuffled runs, one record each) with progress (the display).
Light at import: frameworks are imported by the runs, never here.
"""
