"""One browser session's page: a run selector, the plots of the shown run, peak statistics.

Each session owns its Bokeh document and a periodic callback (``interval``, 0.1 s) that
copies what is new in the shared `Runs` into the document: ``ColumnDataSource.stream`` for
points (only the rows the browser has not seen, with the same rollover as the buffer),
whole-array replacement for heat maps and the latest image, which are small and change
everywhere at once. Whatever the event rate, a browser gets at most one update per
interval, and a session that connects late starts from everything kept so far.

Names of data sources are part of the page's contract (the tests and the benchmark read
them back in the browser): ``points`` (every plotted column of the shown run),
``grid:<field>``, ``image:<field>``, ``peak_stats``, and the ``run_selector`` widget.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, gridplot, row
from bokeh.models import ColumnDataSource, DataRange1d, LinearColorMapper
from bokeh.models.annotations import BoxAnnotation, ColorBar, Span
from bokeh.models.widgets import DataTable, Div, NumberFormatter, Select, TableColumn
from bokeh.palettes import Category10_10, Viridis256
from bokeh.plotting import figure

from .peaks import PeakStats
from .runs import Run, Runs

__all__ = ["SessionView"]

log = logging.getLogger("viz.app")

FOLLOW = "latest"  # selector value: always show the newest run
MAX_PANELS = 8  # detector fields drawn as their own plot (the rest are in the table)
MARKED_POINTS = 500  # scans up to this long get a marker per point
STATUS_EVERY = 1.0  # seconds between status line updates while points arrive
PLOT_HEIGHT = 300
SQUARE = (620, 480)  # size of a 2-D panel (heat map, scatter, image)
TOOLS = "pan,wheel_zoom,box_zoom,reset,save,hover"
STYLE = """
<style>
  body { font-family: system-ui, sans-serif; margin: 0 12px; }
</style>
"""


class SessionView:
    """Builds a session's page and keeps it up to date from `runs`."""

    def __init__(self, doc: Document, runs: Runs, interval: float, title: str) -> None:
        self.doc = doc
        self.runs = runs
        self.shown: Run | None = None
        self.layout_key: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self.panels_key: tuple[Any, ...] | None = None  # what the shown panels fit
        self.ranges_for: str | None = None  # the run the panels' ranges were made for
        self.selected = FOLLOW
        self.sent = 0  # absolute index of the next point the browser has not got
        self.grid_version = -1
        self.image_version = -1
        self.peaks_drawn = False
        self.runs_version = -1
        self.status_time = 0.0
        self.failures = 0
        self.points = ColumnDataSource(data={}, name="points")
        self.named_sources: dict[str, ColumnDataSource] = {}
        self.grid_sources: dict[str, ColumnDataSource] = {}
        self.image_sources: dict[str, ColumnDataSource] = {}
        self.peak_marks: dict[str, PeakMarks] = {}
        self.stats = ColumnDataSource(data=_empty_stats(), name="peak_stats")
        self.selector = Select(
            title="Run",
            value=FOLLOW,
            options=list[str | tuple[Any, str]]([(FOLLOW, "latest run")]),
            name="run_selector",
        )
        self.selector.on_change("value", self._on_select)
        self.status = Div(text="waiting for a run...", name="status")
        self.body = column(Div(text="<i>waiting for a run...</i>"), sizing_mode="stretch_width")
        header = row(
            Div(text=f"{STYLE}<h2 style='margin:8px 0'>{title}</h2>", width=320),
            self.selector,
            self.status,
            sizing_mode="stretch_width",
        )
        self.table = table = DataTable(
            source=self.stats,
            columns=_stats_columns(),
            height=140,
            index_position=None,
            sizing_mode="stretch_width",
            name="peak_table",
            visible=False,
        )
        doc.title = title
        doc.add_root(column(header, self.body, table, sizing_mode="stretch_width"))
        self.tick()
        doc.add_periodic_callback(self.tick, max(10, int(interval * 1000)))

    # -- the periodic update --------------------------------------------------------

    def tick(self) -> None:
        """Bring the page up to date; at most one message per source per call."""
        try:
            if self.runs.version != self.runs_version:
                self.runs_version = self.runs.version
                self._refresh_selector()
            target = self._target()
            if target is not self.shown or (
                target is not None and _layout_key(target) != self.layout_key
            ):
                self._show(target)
            elif target is not None:
                self._update(target)
        except Exception:
            # Logged once per session (it would repeat ten times a second); the page
            # shows the error so the person looking at it knows the plots are stale.
            self.failures += 1
            if self.failures == 1:
                log.exception("live plots: updating a browser session failed")
                self.status.text = "<b style='color:red'>plot update failed (see the log)</b>"

    def _target(self) -> Run | None:
        if self.selected == FOLLOW:
            return self.runs.latest
        return self.runs.runs.get(self.selected, self.runs.latest)

    def _refresh_selector(self) -> None:
        options: list[str | tuple[Any, str]] = [(FOLLOW, "latest run (follow)")]
        for run in reversed(self.runs.runs.values()):
            options.append((run.uid, _run_label(run)))
        self.selector.options = options
        if self.selected != FOLLOW and self.selected not in self.runs.runs:
            self.selected = FOLLOW
            self.selector.value = FOLLOW

    def _on_select(self, attr: str, old: str, new: str) -> None:
        self.selected = new
        self.tick()

    # -- building the plots of one run ---------------------------------------------

    def _show(self, run: Run | None) -> None:
        self.shown = run
        self.layout_key = None if run is None else _layout_key(run)
        self.sent = 0
        self.grid_version = self.image_version = -1
        self.peaks_drawn = False
        self.stats.data = _empty_stats()
        self.table.visible = False
        if run is None:
            self._set_body(Div(text="<i>waiting for a run...</i>"), None)
            return
        first, rows = run.rows(0)
        self.sent = first + len(rows.get("seq_num", ()))
        if not run.data_keys and self.panels_key is not None:
            # No descriptor yet (it comes a moment later): keep the plots, empty, for it.
            self.points.data = {name: np.empty(0) for name in self.points.data}
            self._reuse_panels(run)
            return
        self.points.data = _arrays(rows)
        panels = _panels_key(run)
        if panels is not None and panels == self.panels_key:
            self._reuse_panels(run)
        else:
            self.grid_sources, self.image_sources, self.peak_marks = {}, {}, {}
            self._set_body(self._build(run), panels)
            self.ranges_for = run.uid
        self._update(run)

    def _set_body(self, content: Any, panels: tuple[Any, ...] | None) -> None:
        self.body.children = [content]
        self.panels_key = panels

    def _reuse_panels(self, run: Run) -> None:
        """The shown plots fit the new run (same kind, fields and labels): clear them
        instead of building new ones. A new page layout costs the loop ~0.1 s (the
        document walks its models and sends every new one), a stall a 1 kHz scan feels
        each time a run starts; this costs a few properties. The ranges are new (once per
        run, in one walk of the models), so the plots range over the new data even if the
        last run's were zoomed."""
        for name, marks in self.peak_marks.items():
            marks.clear(name)
        if self.ranges_for == run.uid:
            return
        self.ranges_for = run.uid
        shared_x = DataRange1d(syncable=False)
        with self.doc.models.freeze():
            for marks in self.peak_marks.values():
                marks.fig.update(x_range=shared_x, y_range=DataRange1d(syncable=False))

    def _build(self, run: Run) -> Any:
        builders: dict[str, Callable[[Run], list[Any]]] = {
            "line": self._line_panels,
            "grid": self._grid_panels,
            "scatter": self._scatter_panels,
        }
        panels = builders[run.kind](run)
        panels += self._image_panels(run)
        if not panels:
            return Div(text="<i>no hinted numeric fields to plot in this run</i>")
        if run.kind == "line" and not run.image_fields:
            return gridplot(
                panels,
                ncols=1 if len(panels) < 3 else 2,
                sizing_mode="stretch_width",
                height=PLOT_HEIGHT,
            )
        return gridplot(panels, ncols=2, width=SQUARE[0], height=SQUARE[1])

    def _source(self, name: str, data: dict[str, Any]) -> ColumnDataSource:
        """The session's source of that name, with new data: one model per name for the
        whole session (the browser keeps models it has seen; names must stay unique)."""
        source = self.named_sources.get(name)
        if source is None:
            source = self.named_sources[name] = ColumnDataSource(data=data, name=name)
        else:
            source.data = data
        return source

    def _line_panels(self, run: Run) -> list[Any]:
        panels: list[Any] = []
        shared_x = None
        for i, name in enumerate(run.fields[:MAX_PANELS]):
            fig = _figure(
                title=name,
                x_axis_label=run.label(run.x),
                y_axis_label=run.label(name),
                name=f"plot:{name}",
            )
            if shared_x is None:
                shared_x = fig.x_range
            else:
                fig.x_range = shared_x
            color = Category10_10[i % 10]
            fig.line(run.x, name, source=self.points, color=color, line_width=_line_width(run))
            if _few_points(run):
                fig.scatter(run.x, name, source=self.points, color=color, size=5)
            self.peak_marks[name] = PeakMarks(fig)
            panels.append(fig)
        return panels

    def _grid_panels(self, run: Run) -> list[Any]:
        assert run.grid is not None and run.y is not None
        (y0, y1), (x0, x1) = run.grid.extents
        ny, nx = run.grid.shape
        dx = (x1 - x0) / (nx - 1) if nx > 1 else 1.0
        dy = (y1 - y0) / (ny - 1) if ny > 1 else 1.0
        panels: list[Any] = []
        for name in run.fields[:MAX_PANELS]:
            fig = _figure(
                title=f"{name} (heat map)",
                x_axis_label=run.label(run.x),
                y_axis_label=run.label(run.y),
                name=f"plot:{name}",
            )
            source = self._source(f"grid:{name}", _grid_data(run.grids[name], x0, y0, dx, dy))
            mapper = LinearColorMapper(palette=Viridis256, nan_color="#eeeeee")
            fig.image("image", x="x", y="y", dw="dw", dh="dh", source=source, color_mapper=mapper)
            fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
            fig.scatter(run.x, run.y, source=self.points, size=3, color="white", alpha=0.5)
            self.grid_sources[name] = source
            panels.append(fig)
        return panels

    def _scatter_panels(self, run: Run) -> list[Any]:
        assert run.y is not None
        panels: list[Any] = []
        for name in run.fields[:MAX_PANELS]:
            fig = _figure(
                title=f"{name} (scatter)",
                x_axis_label=run.label(run.x),
                y_axis_label=run.label(run.y),
                name=f"plot:{name}",
                match_aspect=True,
            )
            mapper = LinearColorMapper(palette=Viridis256)
            fig.scatter(
                run.x,
                run.y,
                source=self.points,
                size=9,
                color={"field": name, "transform": mapper},
                line_color=None,
            )
            fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
            panels.append(fig)
        return panels

    def _image_panels(self, run: Run) -> list[Any]:
        panels: list[Any] = []
        for name in run.image_fields[:2]:
            source = self._source(f"image:{name}", _image_data(None))
            fig = _figure(title=f"{name} (latest)", match_aspect=True)
            mapper = LinearColorMapper(palette=Viridis256)
            fig.image("image", x=0, y=0, dw="dw", dh="dh", source=source, color_mapper=mapper)
            fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
            total = f"{name}_sum"
            trace = _figure(
                title=f"sum of {name}",
                x_axis_label=run.label(run.x),
                name=f"plot:{total}",
            )
            trace.line(run.x, total, source=self.points, line_width=_line_width(run))
            if _few_points(run):
                trace.scatter(run.x, total, source=self.points, size=4)
            self.image_sources[name] = source
            self.peak_marks[total] = PeakMarks(trace)
            panels += [fig, trace]
        return panels

    # -- incremental updates -------------------------------------------------------

    def _update(self, run: Run) -> None:
        if run.total > self.sent:
            first, rows = run.rows(self.sent)
            self.sent = first + len(rows["seq_num"])
            if set(rows) != set(self.points.data):
                self.points.data = _arrays(run.rows(0)[1])  # columns appeared late
            else:
                self.points.stream(_arrays(rows), rollover=run.max_points)
        if run.grid_version != self.grid_version:
            self.grid_version = run.grid_version
            for name, source in self.grid_sources.items():
                source.patch({"image": [(0, _oriented(run.grids[name], run))]})
        if run.image_version != self.image_version:
            self.image_version = run.image_version
            for name, source in self.image_sources.items():
                if name in run.images:
                    source.data = _image_data(run.images[name])
        if run.stop is not None and not self.peaks_drawn:
            self.peaks_drawn = True
            self._draw_peaks(run)
        self._set_status(run)

    def _set_status(self, run: Run) -> None:
        expected = run.start.get("num_points")
        of = f" of {expected}" if expected else ""
        scan = f"scan {run.scan_id}" if run.scan_id is not None else run.uid[:8]
        text = (
            f"<b>{scan}</b> &middot; {run.plan_name} &middot; {run.total}{of} points "
            f"&middot; {run.exit_status}"
        )
        now = time.monotonic()
        if self.status.text != text and (
            run.stop is not None or now - self.status_time >= STATUS_EVERY
        ):
            self.status.text = text  # changes the page layout: not at every tick
            self.status_time = now

    def _draw_peaks(self, run: Run) -> None:
        if not run.peaks:
            return
        self.table.visible = True
        self.stats.data = {
            "field": list(run.peaks),
            "max_x": [s.max[0] for s in run.peaks.values()],
            "max_y": [s.max[1] for s in run.peaks.values()],
            "min_x": [s.min[0] for s in run.peaks.values()],
            "min_y": [s.min[1] for s in run.peaks.values()],
            "com": [s.com for s in run.peaks.values()],
            "cen": [_nan(s.cen) for s in run.peaks.values()],
            "fwhm": [_nan(s.fwhm) for s in run.peaks.values()],
        }
        for name, stats in run.peaks.items():
            marks = self.peak_marks.get(name)
            if marks is not None:
                marks.show(name, stats)


def _figure(**options: Any) -> Any:
    """A live panel. Its ranges are not synced back: the browser recomputes them at every
    update, and sending each new start and end to the server (which parses, applies and
    answers every such message) cost the engine's loop more than the update itself."""
    fig = figure(tools=TOOLS, **options)
    fig.x_range.syncable = False
    fig.y_range.syncable = False
    return fig


def _few_points(run: Run) -> bool:
    """Mark each point only in short scans: thousands of markers redrawn ten times a
    second cost the browser (and a shared machine) more than they show."""
    num = run.start.get("num_points")
    return isinstance(num, int) and num <= MARKED_POINTS


def _line_width(run: Run) -> int:
    """2 px for short scans; 1 px for long ones, where the line is dense anyway and a
    browser rasterises a thin line in a fraction of the time (measured: headless chromium
    at 30 % of a core with 2 px, 21 % with 1 px, for a 1 kHz count)."""
    return 2 if _few_points(run) else 1


def _arrays(rows: dict[str, list[float]]) -> dict[str, Any]:
    """Columns as numpy arrays: Bokeh sends them as binary buffers, without checking
    and encoding every number as it does for lists (several times cheaper per update)."""
    return {name: np.asarray(values, dtype=float) for name, values in rows.items()}


def _no_extremes() -> dict[str, list[Any]]:
    return {"x": [], "y": [], "marker": [], "color": []}


class PeakMarks:
    """A line plot's peak annotations, made hidden with the plot and shown at run end:
    setting a few properties then is cheap, adding renderers to a live document is not
    (the whole document's model graph is walked again)."""

    def __init__(self, fig: Any) -> None:
        self.fig = fig
        self.com = Span(dimension="height", line_dash="dotted", visible=False)
        self.cen = Span(dimension="height", line_color="red", line_dash="dashed", visible=False)
        self.band = BoxAnnotation(fill_color="red", fill_alpha=0.08, visible=False)
        self.extremes = ColumnDataSource(data=_no_extremes())
        for annotation in (self.com, self.cen, self.band):
            fig.add_layout(annotation)
        fig.scatter("x", "y", marker="marker", color="color", size=12, source=self.extremes)

    def clear(self, title: str) -> None:
        for annotation in (self.com, self.cen, self.band):
            annotation.visible = False
        self.extremes.data = _no_extremes()
        self.fig.title.text = title

    def show(self, name: str, stats: PeakStats) -> None:
        self.com.update(location=stats.com, visible=math.isfinite(stats.com))
        if stats.cen is not None:
            self.cen.update(location=stats.cen, visible=True)
        if len(stats.crossings) >= 2:
            left, right = sorted((stats.crossings[0], stats.crossings[-1]))
            self.band.update(left=left, right=right, visible=True)
        self.extremes.data = {
            "x": [stats.max[0], stats.min[0]],
            "y": [stats.max[1], stats.min[1]],
            "marker": ["triangle", "inverted_triangle"],
            "color": ["red", "gray"],
        }
        self.fig.title.text = (
            f"{name}: cen {_fmt(stats.cen)}, fwhm {_fmt(stats.fwhm)}, com {_fmt(stats.com)}"
        )


def _layout_key(run: Run) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the plots are built from: a change (the first descriptor) means a rebuild."""
    return tuple(run.fields), tuple(run.image_fields)


def _panels_key(run: Run) -> tuple[Any, ...] | None:
    """What a run's line panels depend on; runs with equal keys can share them. None for
    runs whose panels are not only line plots (heat maps, scatter, images): rebuilt."""
    if run.kind != "line" or run.image_fields or not run.fields:
        return None
    fields = tuple(run.fields[:MAX_PANELS])
    labels = tuple(run.label(name) for name in (run.x, *fields))
    return run.x, fields, labels, _few_points(run)


def _run_label(run: Run) -> str:
    started = datetime.datetime.fromtimestamp(run.start.get("time", 0)).strftime("%H:%M:%S")
    scan = f"scan {run.scan_id}" if run.scan_id is not None else run.uid[:8]
    return f"{scan} · {run.plan_name} · {started} · {run.exit_status}"


def _oriented(values: np.ndarray, run: Run) -> np.ndarray:
    """The grid as an image: rows along the slow motor (y), columns along the fast one (x),
    both increasing, whichever way the scan ran."""
    assert run.grid is not None
    (y0, y1), (x0, x1) = run.grid.extents
    image = values
    if y1 < y0:
        image = image[::-1, :]
    if x1 < x0:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def _grid_data(values: np.ndarray, x0: float, y0: float, dx: float, dy: float) -> dict:
    ny, nx = values.shape
    left = min(x0, x0 + dx * (nx - 1)) - abs(dx) / 2
    bottom = min(y0, y0 + dy * (ny - 1)) - abs(dy) / 2
    return {
        "image": [values.copy()],
        "x": [left],
        "y": [bottom],
        "dw": [abs(dx) * nx],
        "dh": [abs(dy) * ny],
    }


def _image_data(image: np.ndarray | None) -> dict:
    image = np.zeros((1, 1)) if image is None else np.squeeze(image)
    rows, cols = image.shape
    return {"image": [image.astype(float)], "dw": [cols], "dh": [rows]}


def _empty_stats() -> dict[str, list]:
    names = ("field", "max_x", "max_y", "min_x", "min_y", "com", "cen", "fwhm")
    return {name: [] for name in names}


def _stats_columns() -> list[TableColumn]:
    number = NumberFormatter(format="0.[0000]")
    titles = {
        "max_x": "max at",
        "max_y": "max",
        "min_x": "min at",
        "min_y": "min",
        "com": "centre of mass",
        "cen": "centre (half max)",
        "fwhm": "FWHM",
    }
    return [TableColumn(field="field", title="field")] + [
        TableColumn(field=key, title=title, formatter=number) for key, title in titles.items()
    ]


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
