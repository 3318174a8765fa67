"""``make bench``: the provider's cost against the Pulumi engine floor and Skyflow's own SDK.

Run with ``python -m benchmarks.run`` (``scripts/bench.sh``); see docs/performance.md.
"""
