"""edgebench: latency and quality of a deep-learning model on an edge device, measured honestly.

Importing this package is cheap: no framework is imported until a runtime or converter is used.
"""

__version__ = "0.1.0"
