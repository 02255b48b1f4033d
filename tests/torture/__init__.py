"""The reliability and security campaign (`make torture`; the short run is in `make test`).

Each part is a module here with `run(scale, work) -> Report`: `scale` is "short" (seconds,
in the test suite) or "full" (`make torture`), `work` a scratch folder of its own. The
runner (`python -m tests.torture`) runs every part, prints its figures, scans every log
line the parts wrote for personal data, and writes docs/reliability.md.
"""
