"""The model's parameters as PVs, ``Pmodel:...``, so tests and demos can move the peaks.

Each PV is one field of `iocs.model.ModelParams`, with the same name and default; widths,
spacings and the wavelength must be positive, peaks and background non-negative.
"""

from __future__ import annotations

import dataclasses

from caproto.server import pvproperty

from .model import ModelParams
from .pvs import SimGroup

_DEFAULTS = ModelParams()
_POSITIVE = {"lower_ctrl_limit": 1e-9, "upper_ctrl_limit": 1e9}
_NON_NEGATIVE = {"lower_ctrl_limit": 0.0, "upper_ctrl_limit": 1e12}


def _param(name: str, units: str, doc: str, **limits: float) -> pvproperty:
    return pvproperty(
        name=name,
        value=float(getattr(_DEFAULTS, name)),
        units=units,
        precision=6,
        doc=doc,
        **limits,
    )


class ModelParameters(SimGroup):
    """The sample and detector model, adjustable at run time."""

    det_center = _param("det_center", "mm", "m1 position of the det peak")
    det_width = _param("det_width", "mm", "standard deviation of the det peak", **_POSITIVE)
    det_peak = _param("det_peak", "counts/s", "det rate on the peak", **_NON_NEGATIVE)
    d0 = _param("d0", "Angstrom", "lattice spacing at T0", **_POSITIVE)
    alpha = _param("alpha", "1/K", "linear thermal expansion coefficient")
    T0 = _param("T0", "K", "temperature at which d = d0", **_POSITIVE)
    wavelength = _param("wavelength", "Angstrom", "X-ray wavelength", **_POSITIVE)
    bragg_width = _param("bragg_width", "deg", "standard deviation in th and tth", **_POSITIVE)
    bragg_peak = _param("bragg_peak", "counts/s", "diff rate on the peak", **_NON_NEGATIVE)
    background = _param("background", "counts/s", "rate in every channel", **_NON_NEGATIVE)

    def params(self) -> ModelParams:
        return ModelParams(
            **{
                field.name: getattr(self, field.name).value
                for field in dataclasses.fields(ModelParams)
            }
        )
