"""What students get: the bundle of public checks (``bundle``, ``bundle_data``), the
in-notebook check (``selfcheck`` with its HTML ``view`` and its template ``cells``) and the
wheel that carries it (``wheel``). The wheel copies ``selfcheck`` and the modules its relative
imports reach, so those stay free of the grading machinery.

May import: ``graders.errors``, ``graders.inside``, ``graders.verdict``, ``graders.intake``,
``graders.spec``, ``graders.report``.
"""
