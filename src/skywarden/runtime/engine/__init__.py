"""The one engine and what it steps: the pipeline, its snapshots, restore and report ordering.

Nothing here opens a socket or reads the clock: every transport (live, cluster, offline)
feeds the engine records and publishes what it returns."""
