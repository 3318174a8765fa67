"""Local emulator of Skyflow's Management API (service accounts, keys, roles, policies).

Independent of ``skyflow_provider``: it has its own JWT handling, models and storage so the
provider's tests meet a second implementation of the published spec, not a mirror of itself.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
