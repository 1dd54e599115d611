"""The Channel Access backend, through aioca.

- **Fresh reads.** ``get_reading`` is a ``caget`` (FORMAT_TIME): a read that follows a
  completed put or trigger returns a value the IOC produced after it, never a monitor
  value cached from before. `CaBackend.read_many` reads a device's CA signals with one
  concurrent ``caget`` of all their PVs.
- **Metadata without round trips.** At connect a DBE_PROPERTY monitor (FORMAT_CTRL)
  brings units, precision, limits and enum strings, and keeps them current (also after an
  IOC restart, when the monitor fires again): ``describe()`` costs nothing on the wire.
- **Reconnection.** libca re-establishes channels and their subscriptions when an IOC
  comes back; value subscriptions resume by themselves.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from typing import Any, TypeVar

import aioca
from aioca import DBE_PROPERTY, FORMAT_CTRL, FORMAT_TIME, CANothing, caget, camonitor, caput
from epicscorelibs.ca import cadef

from acq.protocols import DataKey, Reading

from ..backend import BatchReader, ReadingCallback, SignalBackend
from ..errors import NotConnectedError, SignalAccessError, StatusTimeoutError
from .convert import CaConverter, CaMetadata, make_converter, metadata_from

__all__ = [
    "DEFAULT_IO_TIMEOUT",
    "DEFAULT_PUT_TIMEOUT",
    "CaBackend",
    "set_default_put_timeout",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how long a read (or a put without callback) waits before saying the IOC is not answering
DEFAULT_IO_TIMEOUT = 10.0
#: how long a put with callback may take by default (set per signal with `put_timeout=`,
#: for every signal with `set_default_put_timeout`, or with $ACQ_CA_PUT_TIMEOUT)
DEFAULT_PUT_TIMEOUT = 10.0


def _env_put_timeout() -> float:
    text = os.environ.get("ACQ_CA_PUT_TIMEOUT")
    if not text:
        return DEFAULT_PUT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"ACQ_CA_PUT_TIMEOUT must be a number of seconds > 0, not {text!r}")
    return value


def set_default_put_timeout(seconds: float) -> None:
    """Bound every put with callback that has no timeout of its own to `seconds`."""
    if not seconds > 0:
        raise ValueError(f"a put timeout must be > 0 s, not {seconds!r}")
    CaBackend.default_put_timeout = float(seconds)


class CaBackend(SignalBackend[T]):
    """A signal over one PV (or a readback PV and a setpoint PV)."""

    #: bound of a put with callback when neither the call nor the signal gives one
    default_put_timeout: float = _env_put_timeout()

    def __init__(
        self,
        datatype: type[T] | None,
        read_pv: str,
        write_pv: str | None = None,
        *,
        writable: bool = True,
        put_value: Any = None,
        io_timeout: float = DEFAULT_IO_TIMEOUT,
        put_timeout: float | None = None,
    ) -> None:
        self.datatype = datatype
        self.read_pv = read_pv
        self.write_pv = write_pv or read_pv
        self.writable = writable
        self.put_value = put_value  # what an executable signal writes (e.g. 1)
        self.io_timeout = io_timeout
        self.put_timeout = put_timeout  # None: `default_put_timeout` at the time of the put
        self.converter: CaConverter | None = None
        self.metadata = CaMetadata()
        self.write_access = True
        self._native: tuple[int, int] | None = None  # (field type, element count)
        self._property_sub: aioca.Subscription | None = None
        self._value_sub: aioca.Subscription | None = None
        self._first_property: asyncio.Future[None] | None = None
        self._connecting: asyncio.Lock | None = None

    def source(self, name: str) -> str:
        return f"ca://{self.read_pv}"

    # -- connecting --------------------------------------------------------------------

    async def connect(self, timeout: float) -> None:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # a signal in two trees connects once
            if self.converter is None or self._property_sub is None:
                await self._connect(timeout)

    async def _connect(self, timeout: float) -> None:
        self._first_property = asyncio.get_running_loop().create_future()
        self._property_sub = camonitor(
            self.read_pv, self._on_property, events=DBE_PROPERTY, format=FORMAT_CTRL
        )
        try:
            async with asyncio.timeout(timeout):
                await self._first_property
                if self.write_pv == self.read_pv:
                    read_info = write_info = await aioca.cainfo(self.read_pv, timeout=None)
                else:
                    read_info, write_info = await aioca.cainfo(
                        [self.read_pv, self.write_pv], timeout=None
                    )
        except TimeoutError:
            missing = self.read_pv if not self._first_property.done() else self.write_pv
            self.close()
            raise NotConnectedError(
                f"ca://{missing} did not connect within {timeout:g} s"
            ) from None
        except BaseException:
            self.close()
            raise
        self._native = (read_info.datatype, read_info.count)
        self.write_access = bool(write_info.write)
        try:
            self.converter = make_converter(
                self.read_pv, self.datatype, *self._native, self.metadata.choices
            )
        except Exception:
            self.close()
            raise

    def _on_property(self, value: Any) -> None:
        """Each DBE_PROPERTY update (at connect, after a restart, on a change)."""
        if isinstance(value, CANothing):
            return
        metadata = metadata_from(value)
        if (
            self.converter is not None
            and self._native is not None
            and metadata.choices != self.metadata.choices
        ):
            try:  # new enum strings: labels read from now on follow them
                self.converter = make_converter(
                    self.read_pv, self.datatype, *self._native, metadata.choices
                )
            except Exception as error:
                log.error(
                    "%s changed into something this signal cannot use: %s", self.read_pv, error
                )
        self.metadata = metadata
        if self._first_property is not None and not self._first_property.done():
            self._first_property.set_result(None)

    def close(self) -> None:
        for sub in (self._property_sub, self._value_sub):
            if sub is not None:
                sub.close()
        self._property_sub = self._value_sub = None
        self.converter = None

    def _converter(self) -> CaConverter:
        if self.converter is None:
            raise NotConnectedError(
                f"ca://{self.read_pv} is not connected: await connect(device) first"
            )
        return self.converter

    # -- reading -----------------------------------------------------------------------

    async def get_reading(self) -> Reading:
        converter = self._converter()
        try:
            value = await caget(
                self.read_pv,
                datatype=converter.request,
                format=FORMAT_TIME,
                timeout=self.io_timeout,
            )
        except CANothing as error:
            raise _read_error(self.read_pv, error, self.io_timeout) from None
        return converter.reading(value)

    async def get_value(self) -> T:
        converter = self._converter()
        try:
            value = await caget(self.read_pv, datatype=converter.request, timeout=self.io_timeout)
        except CANothing as error:
            raise _read_error(self.read_pv, error, self.io_timeout) from None
        return converter.to_value(value)

    @classmethod
    async def read_many(cls, backends: Sequence[SignalBackend[Any]]) -> list[Reading]:
        """One concurrent ``caget`` of every PV (the same call a hand-written loop makes)."""
        cas: Sequence[CaBackend[Any]] = backends  # type: ignore[assignment]
        converters = [backend._converter() for backend in cas]
        request = converters[0].request
        pvs = [backend.read_pv for backend in cas]
        timeout = cas[0].io_timeout
        try:
            if all(c.request == request for c in converters):
                values = await caget(pvs, datatype=request, format=FORMAT_TIME, timeout=timeout)
            else:
                async with asyncio.timeout(timeout):
                    values = await asyncio.gather(
                        *(
                            caget(pv, datatype=c.request, format=FORMAT_TIME, timeout=None)
                            for pv, c in zip(pvs, converters, strict=True)
                        )
                    )
        except (CANothing, TimeoutError) as error:
            raise _read_error(", ".join(pvs), error, timeout) from None
        return [c.reading(v) for c, v in zip(converters, values, strict=True)]

    @classmethod
    def batch_reader(cls, backends: Sequence[SignalBackend[Any]]) -> BatchReader:
        """One concurrent ``caget`` of every PV, with its arguments prepared once."""
        cas: list[CaBackend[Any]] = list(backends)  # type: ignore[arg-type]
        requests = {backend.datatype_request for backend in cas}
        if len(requests) != 1:  # mixed request types (e.g. a char waveform as text)
            return lambda: cls.read_many(cas)
        pvs = [backend.read_pv for backend in cas]
        kwargs = {"datatype": requests.pop(), "format": FORMAT_TIME, "timeout": cas[0].io_timeout}

        async def read() -> list[Reading]:
            try:
                values = await caget(pvs, **kwargs)
            except CANothing as error:
                raise _read_error(", ".join(pvs), error, kwargs["timeout"]) from None
            return [
                backend._converter().reading(value)
                for backend, value in zip(cas, values, strict=True)
            ]

        return read

    @property
    def datatype_request(self) -> int | None:
        """The aioca datatype this signal's gets ask for (None: native)."""
        return self._converter().request

    def get_datakey(self, source: str) -> DataKey:
        return self._converter().datakey(source, self.metadata)

    # -- writing -----------------------------------------------------------------------

    def validate(self, value: Any) -> Any:
        converter = self._converter()
        if not self.write_access:
            raise SignalAccessError(
                f"{self.write_pv}: no write access from this host/user (access security "
                f"on the IOC); ask the IOC's owner, or use a PV you may write"
            )
        return converter.to_put(value)

    async def put(self, value: Any, wait: bool, timeout: float | None = None) -> None:
        """Put `value`; with `wait`, until the IOC's put callback says the write is done.

        Bounded: by `timeout`, else the signal's `put_timeout`, else the default (10 s);
        a put without callback by `io_timeout`. Overrunning raises `StatusTimeoutError`
        naming the PV (the IOC may still finish the write; nothing is retried).
        """
        if value is None:
            value = self.put_value
        converter = self._converter()
        if timeout is None:
            timeout = self._default_timeout(wait)
        try:
            async with asyncio.timeout(timeout):
                await caput(
                    self.write_pv, value, datatype=converter.request, wait=wait, timeout=None
                )
        except TimeoutError:
            # the message is built only here: the put path itself formats nothing
            raise StatusTimeoutError(
                f"ca://{self.write_pv}: put of {value!r}"
                + (
                    f" with callback did not finish within {timeout:g} s; the record's "
                    f"processing has not completed (is it busy, or stuck?)"
                    if wait
                    else f" did not finish within {timeout:g} s; is the IOC running?"
                )
            ) from None
        except CANothing as error:
            raise SignalAccessError(
                f"{self.write_pv} refused the put of {value!r}: {error}. The record may "
                f"be disabled (DISP), protected by access security, or the value rejected "
                f"by its record support"
            ) from None

    def _default_timeout(self, wait: bool) -> float:
        if not wait:
            return self.io_timeout
        if self.put_timeout is not None:
            return self.put_timeout
        return CaBackend.default_put_timeout

    # -- monitoring --------------------------------------------------------------------

    def set_callback(self, callback: ReadingCallback | None) -> None:
        if self._value_sub is not None:
            self._value_sub.close()
            self._value_sub = None
        if callback is None:
            return
        converter = self._converter()

        def on_update(value: Any) -> None:
            current = self.converter or converter
            callback(current.reading(value))

        self._value_sub = camonitor(
            self.read_pv, on_update, datatype=converter.request, format=FORMAT_TIME
        )


def _read_error(pvs: str, error: BaseException, timeout: float) -> NotConnectedError:
    if isinstance(error, TimeoutError) or getattr(error, "errorcode", None) == cadef.ECA_TIMEOUT:
        return NotConnectedError(f"ca://{pvs}: no answer within {timeout:g} s; is the IOC running?")
    return NotConnectedError(f"ca://{pvs}: {error}")
