"""Data shipped with dcoprover so that its main job runs offline: MiniF2F's statements.

``minif2f-coq.jsonl``: LLM4Rocq/miniF2F-rocq at commit b60affa (MIT, ``minif2f-coq.LICENSE``),
488 statements with ``From Stdlib`` rewritten to ``From Coq`` for Coq 8.16 and ``coq816_ok``
marking the 477 that Debian's Coq 8.16 accepts. ``minif2f-lean4.jsonl``: yangky11/miniF2F-lean4
at the commit ``search/env/lean_versions.env`` pins (MIT, ``minif2f-lean4.LICENSE``), 488
statements for the Lean toolchain pinned there. Each row
has ``name``, ``split``, ``header``, ``formal_statement`` and ``source`` (repository, commit and
file).
"""
