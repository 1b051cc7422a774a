"""Runtimes on the edge: the clock-in station and the workstation agent."""
