"""Model conversion (issue 3). Heavy converter imports live in the edge modules, never here."""
