"""Helpers shared by tests and benchmarks, outside the installed package.

- ``support.postgres``: the loopback PostgreSQL for journal tests (a schema per test);
- ``support.scripted``: ``ScriptedSource``, a ``PictureSource`` a test pushes pictures into;
- ``support.served``: ``ServedApp``, an app on a real uvicorn in a thread (a real socket);
- ``support.same_outputs``: one journal's frames and alert events compared field by field
  across the modes that run the engine.
- ``support.bench_tracks``: a public file's default-pipeline tracks, once per pytest run
  (the ``bench_tracks`` fixture of ``conftest.py``).

Tests import them as ``support.X`` (pytest puts ``tests/`` on the path); a benchmark puts
``tests/`` on ``sys.path`` first.
"""
