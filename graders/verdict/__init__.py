"""From what a kernel sent back to a verdict: decoding, comparing, scoring, explaining.

``codec`` decodes probe replies, ``results`` holds them, ``compare`` holds the comparators,
``checks`` what a check is (the check API's decorator and loader), ``model`` the report's
typed records, ``score`` turns results into scores, ``diagnose`` and ``missing`` explain
failures, ``typenote`` notes right values of another type. Pure data in, data out: no
kernels, no files beyond a checks file.
May import: ``graders.errors``, ``graders.inside``.
"""
