"""Questions about a class or an assignment: how alike submissions are (``similarity``,
``similarity_report``), how strong the checks are (``mutants``, ``nulls``).

May import: ``graders.errors``, ``verdict``, ``intake``, ``spec``, ``report``, ``grading``.
"""
