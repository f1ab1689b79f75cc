"""Settings, by concern, read from the environment (docs/operations.md has the table).

They fail closed: with nothing set, DEBUG is off, the payment sandbox is off and a real secret
key is required. `bin/run` (the quick start) and `bin/test` set the development values.
"""

from .api import *  # noqa: F403
from .background import *  # noqa: F403
from .base import *  # noqa: F403
from .monitoring import *  # noqa: F403
from .payments import *  # noqa: F403
