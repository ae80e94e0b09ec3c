"""nares-nas: NAS benchmark harness and search algorithms for NARes.

Quick use::

    import nares_nas
    bench = nares_nas.load()              # imported NARes data, else the synthetic stand-in
    bench.metric("5,10,5,10,5,10", "VAL_PGD_ACC")
"""

from nares_nas._version import __version__
from nares_nas.data.benchmark import Benchmark
from nares_nas.data.loading import load
from nares_nas.data.records import Record
from nares_nas.errors import (
    BudgetExhaustedError,
    CacheError,
    ConfigError,
    DataFormatError,
    InvalidArchError,
    MetricError,
    NaresError,
    PluginError,
    UnknownArchError,
)
from nares_nas.metrics import METRIC_NAMES
from nares_nas.space import SPACE, Arch, SearchSpace

__all__ = [
    "__version__", "Arch", "Benchmark", "BudgetExhaustedError", "CacheError", "ConfigError", "DataFormatError",
    "InvalidArchError", "METRIC_NAMES", "MetricError", "NaresError", "PluginError", "Record",
    "SPACE", "SearchSpace", "UnknownArchError", "load",
]
