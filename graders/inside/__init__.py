"""Code that runs inside the student's kernel, and nothing else.

``runtime`` is sent to every kernel as source (it runs probes, encodes values, times cells);
``zygote_child`` is the zygote process that forks kernels in the sandbox. Both run next to
student code, so they stay small, use the standard library (and numpy or torch only where the
kernel has them), and import nothing of the harness: the harness never trusts what they say.
May import: nothing of ``graders``.
"""
