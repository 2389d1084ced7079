"""What an assignment is: ``assignment.toml``, its limits, its checks and reference files,
and the Python its kernels run in (``[environment]``).

May import: ``graders.errors``, ``graders.inside``, ``graders.verdict``, ``graders.intake``.
"""
