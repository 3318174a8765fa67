"""Imported by every Python process started with this directory on PYTHONPATH (see
tests/helpers/verbose_logs.py): when SKYFLOW_TEST_DEBUG_LOG_DIR is set, the provider's loggers
(``skyflow_provider``) write at DEBUG into a file per process there.

A Pulumi run has no other way in: the dynamic provider (``python -m pulumi.dynamic``) and the
native plugin are started by the engine, and the provider configures no logging of its own. This
is how the tests read the provider's DEBUG log of a real run and scan it for secrets.
"""

import logging
import os

_DIR = os.environ.get("SKYFLOW_TEST_DEBUG_LOG_DIR")
if _DIR:
    _handler = logging.FileHandler(os.path.join(_DIR, f"provider-{os.getpid()}.log"), delay=True)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s "
                                            "%(message)s"))
    _logger = logging.getLogger("skyflow_provider")
    _logger.setLevel(logging.DEBUG)
    _logger.addHandler(_handler)
