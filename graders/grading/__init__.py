"""Grading a class: ``prepare`` a run, ``schedule`` submissions over workers, the
``pipeline`` of one submission, ``execute`` its cells and probes, the ``reference`` and the
known ``mistakes``, ``devices`` (GPUs), ``data`` (datasets), a Dask ``cluster``.

May import: every package above it: ``graders.errors``, ``inside``, ``verdict``, ``intake``,
``spec``, ``sandbox``, ``kernel``, ``report``, ``student``.
"""
