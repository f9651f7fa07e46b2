"""The signal engine: pure computation on numpy, no Django, no I/O, no clock of its own.

chain -> term structure -> Forward Factor -> typed signals (FFSignal). Everything a caller needs is importable here.
"""

from scanner.engine.chain import OptionChain
from scanner.engine.config import EngineConfig
from scanner.engine.forward import forward_factor, forward_vol
from scanner.engine.scan import ChainScan, EarningsInput, scan_chain, scan_snapshot
from scanner.engine.signal import FFSignal, Leg

__all__ = [
    "ChainScan",
    "EarningsInput",
    "EngineConfig",
    "FFSignal",
    "Leg",
    "OptionChain",
    "forward_factor",
    "forward_vol",
    "scan_chain",
    "scan_snapshot",
]
