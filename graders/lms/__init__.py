"""Back to the LMS: Canvas and Moodle import files (``canvas``, ``moodle``, with ``export``)
and Canvas's API (``publish_canvas``). A grade the instructor already has is changed only when
asked, and every change is said.

May import: ``graders.errors``, ``graders.intake``.
"""
