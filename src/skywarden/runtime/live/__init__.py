"""``skywarden run``: the live loop, its ingest port, sensor links, ticker and the service."""
