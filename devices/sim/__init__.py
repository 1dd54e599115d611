"""Hardware-free simulated devices for tutorials and engine tests.

from devices.sim import SimMotor, SimDetector
m1 = SimMotor("m1", velocity=2.0, limits=(-10, 10))
det = SimDetector("det", m1, center=0.0, width=1.0, peak=1e4, noise=0.01)
"""

from ..soft import soft_signal_r_and_setter, soft_signal_rw, soft_signal_x
from .detector import SimDetector
from .flyer import SimFlyer
from .image import SimImageDetector
from .motor import SimMotor

__all__ = [
    "SimDetector",
    "SimFlyer",
    "SimImageDetector",
    "SimMotor",
    "soft_signal_r_and_setter",
    "soft_signal_rw",
    "soft_signal_x",
]
