"""The platform's settings plus the benchmark's floor paths (bench/floor.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor"
