"""Writing assignments: ``scaffold`` (``grader new``) and the importers of otter-grader
masters and nbgrader sources (``importing``, ``otter``, ``nbgrader``).

May import: ``graders.errors``, ``verdict``, ``intake``, ``spec``, ``student``.
"""
