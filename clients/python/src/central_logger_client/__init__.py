"""Ship workflow logs to Central Logger without blocking or losing them.

>>> from central_logger_client import CentralLogger
>>> client = CentralLogger("http://localhost:8000", "my-key", environment="production")
>>> with client.run(ticket_id="T-1", category="billing") as run:
...     with run.step("classify", input="text") as step:
...         step.output = "billing"
"""

from ._client import AsyncCentralLogger, CentralLogger
from ._errors import (
    CentralLoggerError,
    ConfigurationError,
    DeliveryError,
    DroppedError,
    RejectedError,
    SpoolError,
)
from ._run import Run, Step
from ._sender import Stats

__version__ = "0.1.0"

__all__ = [
    "AsyncCentralLogger",
    "CentralLogger",
    "CentralLoggerError",
    "ConfigurationError",
    "DeliveryError",
    "DroppedError",
    "RejectedError",
    "Run",
    "SpoolError",
    "Stats",
    "Step",
    "__version__",
]
