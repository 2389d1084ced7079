"""The sandbox around a kernel: bubblewrap (``bwrap``), cgroups v1 and v2 (``cgroups``), the
per-kernel work folder (``workdir``) and the numeric libraries' thread settings (``numerics``).

May import: ``graders.errors``, ``graders.spec`` (and the packages it may import).
"""
