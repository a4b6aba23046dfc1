"""edgebench tests."""
