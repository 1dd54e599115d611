"""Loading the arrays that documents only point to: a registry of file handlers.

Images stay in files (docs/decisions/0008-area-detector-files.md); the documents carry
references. Two generations of reference exist and both must stay readable:

- **Resource/Datum** (ophyd, databroker): a Resource names a ``spec``, a file and
  ``resource_kwargs``; a Datum adds ``datum_kwargs`` for one Event. Handlers keep
  databroker's protocol, ``handler(filename, **resource_kwargs)(**datum_kwargs)``, so a
  databroker handler class (``area_detector_handlers``) registers as it is.
- **StreamResource/StreamDatum** (ophyd-async, acq's `HDF5Detector`): a StreamResource
  names a ``mimetype``, a ``uri`` and ``parameters``; a StreamDatum covers a range of
  frames (``indices``) for a range of Events. Handlers are called
  ``handler(filename, **parameters)(frame)`` with the frame number in the file.

Built in: ``AD_HDF5`` / ``AD_HDF5_SWMR`` and ``application/x-hdf5`` (areaDetector's
``/entry/data/data`` layout), ``NPY_SEQ`` (ophyd.sim: one ``<stem>_<n>.npy`` per Datum)
and ``application/x-npy`` (one ``.npy`` stack, memory-mapped).

Files are opened on first use and kept open in a small LRU cache (`CACHE_SIZE` handlers),
so reading a 1000-frame scan opens its file once and never holds more than a few open.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from .errors import StorageError

__all__ = [
    "CACHE_SIZE",
    "AreaDetectorHDF5Handler",
    "HDF5StreamHandler",
    "HandlerError",
    "MissingFileError",
    "NumpySeqHandler",
    "NumpyStackHandler",
    "UnknownSpecError",
    "clear_cache",
    "load_datum",
    "load_stream_datum",
    "path_of_uri",
    "register_handler",
]

CACHE_SIZE = 16
HDF5_DATASET = "/entry/data/data"


class HandlerError(StorageError):
    """External data could not be loaded: the message names the file and the document."""


class UnknownSpecError(HandlerError, KeyError):
    """No handler is registered for a Resource's spec or a StreamResource's mimetype."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingFileError(HandlerError, FileNotFoundError):
    """The file a document refers to is not there (moved, not mounted, not yet written)."""


Handler = Callable[..., Callable[..., Any]]

_registry: dict[str, Handler] = {}
_cache: OrderedDict[tuple[Any, ...], Callable[..., Any]] = OrderedDict()
_lock = threading.Lock()


def register_handler(spec_or_mimetype: str, handler: Handler) -> None:
    """Use `handler` for Resources with this ``spec`` or StreamResources with this
    ``mimetype`` (a name with a ``/``). Replaces an earlier registration."""
    _registry[spec_or_mimetype] = handler
    clear_cache()


def clear_cache() -> None:
    """Close every cached handler (its open file)."""
    with _lock:
        handlers = list(_cache.values())
        _cache.clear()
    for handler in handlers:
        close = getattr(handler, "close", None)
        if close is not None:
            close()


def load_datum(resource: Mapping[str, Any], datum: Mapping[str, Any]) -> np.ndarray:
    """The array one Datum refers to (Resource/Datum, ophyd style)."""
    spec = resource["spec"]
    path = os.path.join(resource.get("root", "") or "", resource["resource_path"])
    kwargs = dict(resource.get("resource_kwargs") or {})
    handler = _handler(spec, path, kwargs, f"resource {resource.get('uid')}")
    try:
        return np.asarray(handler(**(datum.get("datum_kwargs") or {})))
    except HandlerError:
        raise
    except FileNotFoundError as error:
        raise MissingFileError(
            f"datum {datum.get('datum_id')}: {error.filename or path} is missing; "
            f"mount or copy the data where resource {resource.get('uid')} says it is"
        ) from error
    except (OSError, KeyError, IndexError, ValueError) as error:
        raise HandlerError(
            f"datum {datum.get('datum_id')} ({spec}, {path}): {type(error).__name__}: {error}"
        ) from error


def load_stream_datum(
    stream_resource: Mapping[str, Any], stream_datum: Mapping[str, Any], index: int
) -> np.ndarray:
    """The array of the `index`-th Event that `stream_datum` covers (0-based, within its
    ``indices`` range): frame ``indices.start + index`` of the StreamResource's file."""
    indices = stream_datum["indices"]
    width = indices["stop"] - indices["start"]
    if not 0 <= index < width:
        raise HandlerError(
            f"stream_datum {stream_datum.get('uid')} covers {width} frame(s); "
            f"index {index} is outside 0..{width - 1}"
        )
    mimetype = stream_resource["mimetype"]
    path = path_of_uri(stream_resource["uri"])
    parameters = dict(stream_resource.get("parameters") or {})
    where = f"stream_resource {stream_resource.get('uid')}"
    handler = _handler(mimetype, path, parameters, where)
    frame = indices["start"] + index
    try:
        return np.asarray(handler(frame))
    except HandlerError:
        raise
    except (OSError, KeyError, IndexError, ValueError) as error:
        raise HandlerError(
            f"{where} ({mimetype}, {path}) frame {frame}: {type(error).__name__}: {error}"
        ) from error


def path_of_uri(uri: str) -> str:
    """``file://localhost/data/x.h5`` -> ``/data/x.h5`` (a plain path passes through)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else uri
    raise HandlerError(f"cannot read {uri!r}: only file:// URIs are supported")


def _handler(name: str, path: str, kwargs: dict[str, Any], where: str) -> Callable[..., Any]:
    factory = _registry.get(name)
    if factory is None:
        known = ", ".join(sorted(_registry))
        raise UnknownSpecError(
            f"{where}: no handler for {name!r} (known: {known}); "
            f"register one with storage.handlers.register_handler({name!r}, HandlerClass)"
        )
    key = (name, path, repr(sorted(kwargs.items())))
    with _lock:
        handler = _cache.get(key)
        if handler is not None:
            _cache.move_to_end(key)
            return handler
    try:
        handler = factory(path, **kwargs)
    except FileNotFoundError as error:
        raise MissingFileError(
            f"{where}: {path} is missing; mount or copy the data where the document says "
            f"it is, or check that the detector finished writing it"
        ) from error
    except (OSError, KeyError, ValueError, TypeError) as error:
        hint = ""
        if "lock" in str(error):
            hint = "; it is still open for writing (capture not ended?): read it after the run"
        raise HandlerError(f"{where}: cannot open {path} as {name!r}: {error}{hint}") from error
    with _lock:
        _cache[key] = handler
        evicted = _cache.popitem(last=False)[1] if len(_cache) > CACHE_SIZE else None
    if evicted is not None and hasattr(evicted, "close"):
        evicted.close()
    return handler


# -- built-in handlers -----------------------------------------------------------------


class _HDF5File:
    """An HDF5 file opened read-only on first use; reopened if the dataset has grown."""

    def __init__(self, path: str, dataset: str) -> None:
        if not os.path.exists(path):
            raise FileNotFoundError(2, "no such file", path)
        self.path = path
        self.dataset_name = dataset
        self._file: Any = None
        self._dataset: Any = None
        self._open()

    def _open(self) -> None:
        import h5py

        self.close()
        self._file = h5py.File(self.path, "r")
        try:
            self._dataset = self._file[self.dataset_name]
        except KeyError:
            self.close()
            raise KeyError(f"{self.path} has no dataset {self.dataset_name!r}") from None

    def frames(self, start: int, stop: int) -> np.ndarray:
        if stop > self._dataset.shape[0]:
            self._open()  # written since we opened it?
        if stop > self._dataset.shape[0]:
            raise IndexError(
                f"{self.path}:{self.dataset_name} holds {self._dataset.shape[0]} frames; "
                f"frame {stop - 1} was asked for"
            )
        return np.asarray(self._dataset[start:stop])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._dataset = None


class AreaDetectorHDF5Handler(_HDF5File):
    """``AD_HDF5``: ``frame_per_point`` frames per Datum ``point_number`` (databroker's)."""

    def __init__(self, filename: str, frame_per_point: int = 1, **_: Any) -> None:
        super().__init__(filename, HDF5_DATASET)
        self.frame_per_point = frame_per_point

    def __call__(self, point_number: int) -> np.ndarray:
        start = point_number * self.frame_per_point
        data = self.frames(start, start + self.frame_per_point)
        return data[0] if self.frame_per_point == 1 else data


class HDF5StreamHandler(_HDF5File):
    """``application/x-hdf5``: frame `n` of ``parameters["dataset"]``."""

    def __init__(self, filename: str, dataset: str = HDF5_DATASET, **_: Any) -> None:
        super().__init__(filename, dataset)

    def __call__(self, frame: int) -> np.ndarray:
        return self.frames(frame, frame + 1)[0]


class NumpySeqHandler:
    """``NPY_SEQ`` (ophyd.sim): Datum ``index`` n is the file ``<stem>_<n>.npy``."""

    def __init__(self, filename: str, root: str = "", **_: Any) -> None:
        self.stem = os.path.join(root, filename)

    def __call__(self, index: int) -> np.ndarray:
        return np.load(f"{self.stem}_{index}.npy", allow_pickle=False)


class NumpyStackHandler:
    """``application/x-npy``: one ``.npy`` file of frames, memory-mapped (read lazily)."""

    def __init__(self, filename: str, **_: Any) -> None:
        self.path = Path(filename)
        self._array: np.ndarray | None = np.load(self.path, mmap_mode="r", allow_pickle=False)

    def __call__(self, frame: int) -> np.ndarray:
        if self._array is None:
            raise HandlerError(f"{self.path} was closed")
        return np.array(self._array[frame])

    def close(self) -> None:
        self._array = None


for _name, _handler_class in {
    "AD_HDF5": AreaDetectorHDF5Handler,
    "AD_HDF5_SWMR": AreaDetectorHDF5Handler,
    "application/x-hdf5": HDF5StreamHandler,
    "NPY_SEQ": NumpySeqHandler,
    "application/x-npy": NumpyStackHandler,
}.items():
    register_handler(_name, _handler_class)
