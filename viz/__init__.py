"""viz: live visualisation (Bokeh server in the engine's loop, terminal table).

Arrives with issue 6/7.
"""
