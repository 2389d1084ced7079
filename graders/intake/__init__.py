"""Where student input enters: submissions in folders and zips, LMS download names, notebooks.

``rules`` holds the hostile-input rules (links never followed, sizes bounded, ids safe, CSV
cells defused: SECURITY.md lists them); ``discover`` finds submissions with them,
``lms_names`` reads Canvas, Moodle and Gradescope download names, ``notebook`` reads
notebooks. Everything after this package works on bytes in memory and on ids made here.
May import: ``graders.errors``.
"""
