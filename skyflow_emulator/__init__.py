"""Local emulator of Skyflow's Management API (service accounts, keys, roles, policies).

Independent of ``skyflow_provider``: it has its own JWT handling, models and storage so the
provider's tests meet a second implementation of the published spec, not a mirror of itself.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]
try:  # the distribution's version (skyflow_provider/_version.py), without importing the provider
    __version__ = version("skyflow-pulumi")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
