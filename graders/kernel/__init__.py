"""Where a kernel comes from and how the harness talks to it: providers (fresh kernels or
forks of a ``zygote``), the ``session`` with one kernel, the ``probe`` protocol, what the
kernel printed (``capture``, ``log``) and the source it is set up with (``setup``).

May import: ``graders.errors``, ``graders.inside`` (as source), ``graders.verdict``,
``graders.intake``, ``graders.spec``, ``graders.sandbox``.
"""
