"""The headless concviz core: workloads, backends, the probe, the run session and the trace."""
