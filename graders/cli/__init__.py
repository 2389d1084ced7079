"""The ``grader`` command: ``args`` (the parser) and ``main`` (the commands).

May import: any package of ``graders``.
"""
