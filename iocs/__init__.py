"""iocs: the simulated beamline, written with caproto, runnable as one process."""
