"""viz: live visualisation of acq's documents.

- `LivePlots`: a Bokeh server in the engine's own asyncio loop; the browser page shows the
  current run live and recent runs on demand.
- `LiveTable`: a terminal table of the hinted fields, one row per event.
- `peak_stats` / `PeakStatsCallback`: max, min, centre of mass, centre and FWHM (bluesky
  PeakStats' numbers), as a function and as a subscriber that fills them per run.

Everything here consumes event-model documents only (``cb(name, doc)``); nothing imports
the engine, so the same objects work on documents replayed from storage.
"""

from .errors import PlotServerError, VizError
from .peak_callback import PeakStatsCallback
from .peaks import PeakStats, peak_stats
from .server import LivePlots
from .table import LiveTable

__all__ = [
    "LivePlots",
    "LiveTable",
    "PeakStats",
    "PeakStatsCallback",
    "PlotServerError",
    "VizError",
    "peak_stats",
]
