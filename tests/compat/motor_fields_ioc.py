"""The motor-record fields the sim IOC does not serve yet, for ophyd's and ophyd-async's
motor classes (which connect every field they know of).

    python tests/compat/motor_fields_ioc.py --prefix sim: m4 sy

Serves ``{prefix}{motor}.FIELD`` for the fields below with a real motor record's idle
values. The motion itself (VAL, RBV, DMOV, STOP, VELO, ...) stays with the sim IOC: a CA
client finds each PV on whichever server has it. Remove this helper once `iocs` serves
these fields (see /work/notes/C2-to-iocs.md).
"""

from __future__ import annotations

import argparse

from caproto import ChannelType
from caproto.asyncio.server import run
from caproto.server import PVGroup, pvproperty

# ophyd.EpicsMotor: DIR FOFF SET HLS LLS TDIR HOMF HOMR
# ophyd_async.epics.motor.Motor: SREV UREV ERES FOFF HLS LLS OUT SET
FIELDS = ("DIR", "FOFF", "SET", "HLS", "LLS", "TDIR", "HOMF", "HOMR", "SREV", "UREV")
FIELDS += ("ERES", "OUT")


class MotorFields(PVGroup):
    DIR = pvproperty(name=".DIR", value="Pos", enum_strings=["Pos", "Neg"], dtype=ChannelType.ENUM)
    FOFF = pvproperty(
        name=".FOFF", value="Variable", enum_strings=["Variable", "Frozen"], dtype=ChannelType.ENUM
    )
    SET = pvproperty(name=".SET", value="Use", enum_strings=["Use", "Set"], dtype=ChannelType.ENUM)
    HLS = pvproperty(name=".HLS", value=0, dtype=int)
    LLS = pvproperty(name=".LLS", value=0, dtype=int)
    TDIR = pvproperty(name=".TDIR", value=0, dtype=int)
    HOMF = pvproperty(name=".HOMF", value=0, dtype=int)
    HOMR = pvproperty(name=".HOMR", value=0, dtype=int)
    SREV = pvproperty(name=".SREV", value=200, dtype=int)
    UREV = pvproperty(name=".UREV", value=1.0, dtype=float)
    ERES = pvproperty(name=".ERES", value=0.001, dtype=float)
    OUT = pvproperty(name=".OUT", value="asyn(sim)", dtype=str, max_length=40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("motors", nargs="+")
    args = parser.parse_args()
    pvdb = {}
    for motor in args.motors:
        pvdb.update(MotorFields(prefix=f"{args.prefix}{motor}").pvdb)
    run(pvdb, interfaces=["127.0.0.1"])


if __name__ == "__main__":
    main()
