"""edgebench launcher: run the bench package in the right device image through the Docker SDK.

Thin on purpose: device profiles are plain data (profiles.py), detection reads two sysfs/procfs files (detect.py),
and run.py does one container run. Imports only the standard library, ``docker`` and bench's light modules
(``bench.errors``, the version), so it runs on a thin workstation without any ML framework.
"""
