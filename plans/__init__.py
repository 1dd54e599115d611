"""plans: standard plans, plan stubs and plan wrappers (pure message generation).

    from plans import scan, grid_scan, count
    from plans import stubs as bps
    from plans import wrappers as bpp

    await RE(scan([det], m1, -1, 1, 21))

Every plan function and stub checks its arguments when called and raises `PlanArgumentError`
(a `ValueError` and a `TypeError`) before any message is generated: an odd argument list,
``num < 1``, mismatched lists, something that is not a motor or not a detector, a position
outside a motor's soft limits. It then returns the plan, an async generator that the
engine runs. Each plan returns the uid of the run it opened (the nested temperature scan,
the list of uids). ``await dry_run(plan)`` lists a plan's messages and moves without
hardware (``dry_run_sync(plan)`` where no event loop runs).
"""

from . import stubs, wrappers
from .adaptive import adaptive_scan, rel_adaptive_scan, tune_centroid
from .dry_run import DryRunReport, Move, dry_run, dry_run_sync
from .errors import PlanArgumentError, PlanError, SoftLimitError
from .fly import fly
from .grids import (
    grid_scan,
    list_grid_scan,
    rel_grid_scan,
    rel_list_grid_scan,
    rel_spiral,
    rel_spiral_fermat,
    rel_spiral_square,
    spiral,
    spiral_fermat,
    spiral_square,
)
from .ramp import RampFail, ramp_plan
from .scans import (
    count,
    list_scan,
    log_scan,
    rel_list_scan,
    rel_log_scan,
    rel_scan,
    scan,
    scan_nd,
    x2x_scan,
)
from .temperature import temperature_theta_2theta_scan
from .tweak import tweak

__all__ = [
    "DryRunReport",
    "Move",
    "PlanArgumentError",
    "PlanError",
    "RampFail",
    "SoftLimitError",
    "adaptive_scan",
    "count",
    "dry_run",
    "dry_run_sync",
    "fly",
    "grid_scan",
    "list_grid_scan",
    "list_scan",
    "log_scan",
    "ramp_plan",
    "rel_adaptive_scan",
    "rel_grid_scan",
    "rel_list_grid_scan",
    "rel_list_scan",
    "rel_log_scan",
    "rel_scan",
    "rel_spiral",
    "rel_spiral_fermat",
    "rel_spiral_square",
    "scan",
    "scan_nd",
    "spiral",
    "spiral_fermat",
    "spiral_square",
    "stubs",
    "temperature_theta_2theta_scan",
    "tune_centroid",
    "tweak",
    "wrappers",
    "x2x_scan",
]
