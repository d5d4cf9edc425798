"""Named, versioned prompt templates: the single source of the text a policy model sees.

Serving renders a prompt with ``prompt(...)`` and stops on ``stop``; training builds the same
prompt and appends ``target(...)`` as the supervised completion. Both go through this module,
so a model is always served in the format it was trained on. A template never changes once
published: a new layout is a new version (``tactic-state-v2``), and old checkpoints keep
working with the version they were trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search.types import ProverKind, Theorem

_CHAT_PROMPT = (
    "<|im_start|>system\nYou are a theorem prover. Answer with exactly one tactic.<|im_end|>\n"
    "<|im_start|>user\n{state}<|im_end|>\n<|im_start|>assistant\n"
)
_LANGUAGE = {ProverKind.LEAN: "lean4", ProverKind.COQ: "coq"}
_LANGUAGE_NAME = {ProverKind.LEAN: "Lean 4", ProverKind.COQ: "Coq"}


class RejectedCandidate(ValueError):
    """A sampled tactic or proof that cannot be sent to a prover (empty, oversized)."""


@dataclass(frozen=True)
class TacticTemplate:
    """state -> one tactic. ``layout`` has one field, ``{state}`` (the goals as printed)."""

    name: str
    version: int
    layout: str
    end: str = ""
    stop: tuple[str, ...] = ("\n\n",)

    @property
    def id(self) -> str:
        return f"{self.name}-v{self.version}"

    def prompt(self, state: str) -> str:
        return self.layout.format(state=state)

    def target(self, tactic: str) -> str:
        """The completion training supervises (the model's end-of-sequence token follows)."""
        return tactic + self.end


@dataclass(frozen=True)
class ProofTemplate:
    """statement -> whole proof (DeepSeek-Prover style: the model continues the code block).

    Lean statements end in ``:= by`` and the proof follows; Coq statements end in ``.`` and
    the script follows ``Proof.``. ``closing`` is what ends a proof in each language.
    """

    name: str
    version: int
    layout: str
    opening: dict[ProverKind, str] = field(default_factory=dict)
    closing: dict[ProverKind, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}-v{self.version}"

    def prompt(self, header: str, statement: str, prover: ProverKind) -> str:
        prover = ProverKind(prover)
        return self.layout.format(
            language=_LANGUAGE[prover],
            language_name=_LANGUAGE_NAME[prover],
            header=header.strip(),
            statement=statement.strip(),
            opening=self.opening.get(prover, "\n"),
        )

    def prompt_for(self, theorem: Theorem) -> str:
        return self.prompt(theorem.header, theorem.statement, theorem.prover)

    def target(self, proof: str, prover: ProverKind) -> str:
        return proof.strip() + self.closing[ProverKind(prover)]

    def stop(self, prover: ProverKind) -> tuple[str, ...]:
        """Stop at the first line of the closing (``Qed.``, the code fence)."""
        closing = self.closing[ProverKind(prover)].strip()
        return (closing.splitlines()[0], "```") if closing else ("```",)


TACTIC_TEMPLATES: dict[str, TacticTemplate] = {
    t.id: t
    for t in (
        # GPT-f / LLMStep style: the goals, then a separator the tactic follows.
        TacticTemplate("tactic-state", 1, "{state}:::"),
        # ReProver style: the raw state is the whole prompt (a newline separates the tactic).
        TacticTemplate("tactic-reprover", 1, "{state}\n"),
        # Chat style (ChatML markup as plain text, so it needs no tokenizer chat template).
        TacticTemplate("tactic-chat", 1, _CHAT_PROMPT, end="<|im_end|>", stop=("<|im_end|>",)),
    )
}

PROOF_TEMPLATES: dict[str, ProofTemplate] = {
    t.id: t
    for t in (
        ProofTemplate(
            "proof-deepseek",
            1,
            "Complete the following {language_name} code:\n\n```{language}\n{header}\n\n"
            "{statement}{opening}",
            opening={ProverKind.LEAN: "\n", ProverKind.COQ: "\nProof.\n"},
            closing={ProverKind.LEAN: "\n```", ProverKind.COQ: "\nQed.\n```"},
        ),
    )
}


def _lookup(registry: dict, kind: str, template_id: str):
    try:
        return registry[template_id]
    except KeyError:
        raise ValueError(
            f"unknown {kind} template {template_id!r}; available: {', '.join(registry)}"
        ) from None


def tactic_template(template_id: str) -> TacticTemplate:
    return _lookup(TACTIC_TEMPLATES, "tactic", template_id)


def proof_template(template_id: str) -> ProofTemplate:
    return _lookup(PROOF_TEMPLATES, "proof", template_id)


def _check_size(text: str, what: str, max_chars: int) -> str:
    if not text:
        raise RejectedCandidate(f"empty {what}")
    if len(text) > max_chars:
        raise RejectedCandidate(f"{what} of {len(text)} characters (limit {max_chars})")
    return text


def clean_tactic(text: str, max_chars: int) -> str:
    """One tactic from a sampled completion: the first paragraph, stripped.

    A model that runs on past its tactic writes the next one after a blank line; that tail
    is not part of this step. Empty and oversized tactics raise ``RejectedCandidate``.
    """
    return _check_size(text.strip().split("\n\n", 1)[0].strip(), "tactic", max_chars)


def clean_proof(text: str, prover: ProverKind, max_chars: int) -> str:
    """A proof script from a sampled completion: up to the closing fence, without the
    closing ``Qed.`` that the check adds itself (Coq)."""
    body = text.split("```", 1)[0].strip()
    if ProverKind(prover) is ProverKind.COQ:
        for ending in ("Qed.", "Defined."):
            body = body.removesuffix(ending).rstrip()
    return _check_size(body, "proof", max_chars)
