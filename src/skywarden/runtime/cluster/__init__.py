"""Scale-out on NATS JetStream: many sites, one picture (issue 9).

Modules: ``topology`` (subjects, streams, KV buckets, created idempotently), ``codec``
(versioned JSON for raw reports, frames, alerts, health), ``leases`` (site ownership in KV
with compare-and-set and expiry), ``worker`` (the pooled tracker process), ``feed`` (raw
reports into JetStream: the ingest port and a simulated feeder), ``edge`` (a standalone site
publishing to its leaf-node NATS) and ``central`` (the aggregated picture). The design and its
arithmetic are in ``docs/scale.md``.
"""
