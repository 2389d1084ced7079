"""What a grade looks like to people and programs: report.json, feedback pages, gradebook.csv
and the summary (``pages`` with ``templates/``), plots as SVG (``plots``), the terminal table
(``terminal``).

May import: ``graders.errors``, ``graders.verdict``, ``graders.intake``.
"""
