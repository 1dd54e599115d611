"""devices: the async device layer (signals, device trees, EPICS/APS/sim catalogue)."""
