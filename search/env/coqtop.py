"""One ``coqtop -quiet -emacs`` process spoken to over pipes.

Protocol facts (``shared/docs/coq.md``, checked against Debian's Coq 8.16.1):
* every reply ends with ``<prompt>NAME < N |PROOF| 0 < </prompt>``; ``N`` names the state the
  next sentence will create, and ``BackTo N.`` returns exactly to the point where that prompt
  was shown; prompts go to stderr, goals to stdout, so both are read from one merged pipe to
  keep their order;
* a sentence that fails prints ``Error: ...`` and leaves the prompt number unchanged;
* coqtop does not always print the goals after a tactic (not after ``BackTo``, for example), so
  callers ask with ``Show.``;
* ``Timeout N`` bounds a tactic, but some tactics (``vm_compute``) ignore it: a wall-clock
  watchdog kills the process, and the caller restarts it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from dataclasses import dataclass

from search.env.process import ProverProcess, kill_descendants, memory_limiter
from search.types import ProverCrash, ProverTimeout

#: ``|a|b|`` lists the open proofs, innermost first (``||`` when none is open).
PROMPT = re.compile(r"<prompt>(\S+) < (\d+) \|([^<]*)\| \d+ < </prompt>")
_TAGGED = re.compile(r"<(infomsg|warning)>.*?</\1>", re.DOTALL)
_ERROR = re.compile(r"(?:^|\n)Error:(.*)", re.DOTALL)
#: In coqtop's error when ``Timeout N`` interrupted a sentence: ``Timeout!``, or from inside
#: ``psatz``, ``Tactic failure: find_witness Control.Timeout``.
TIMEOUT_MARK = "Timeout"
_READ_CHUNK = 1 << 16
#: A reply larger than this is not a proof state anyone can use; it is a runaway print.
MAX_REPLY_BYTES = 16 << 20


@dataclass(frozen=True)
class Reply:
    """What coqtop answered to one sentence."""

    text: str
    prompt: int
    error: str | None
    #: The proofs open after this sentence, innermost first, as Coq names them.
    proofs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


def coqtop_binary() -> str:
    """The coqtop executable, or a clear error telling how to install it."""
    path = shutil.which("coqtop")
    if path is None:
        raise FileNotFoundError(
            "coqtop not found on PATH; install Coq 8.16: "
            "apt-get install -y coq libcoq-stdlib libcoq-coquelicot libcoq-hammer"
        )
    return path


def parse_reply(raw: str) -> Reply:
    """Read raw coqtop output ending in a prompt: its text, prompt number, error (or None)
    and the open proofs the prompt names."""
    matches = list(PROMPT.finditer(raw))
    if not matches:
        raise ProverCrash(f"coqtop reply without a prompt: {raw[-200:]!r}")
    match = matches[-1]
    text = PROMPT.sub("", raw[: match.start()])
    text = _TAGGED.sub("", text).strip()
    error = _ERROR.search(text)
    return Reply(
        text=text,
        prompt=int(match.group(2)),
        error=" ".join(error.group(1).split()) if error else None,
        proofs=tuple(name for name in match.group(3).split("|") if name),
    )


class CoqTop(ProverProcess):
    """A coqtop process; ``send`` one sentence at a time and get its ``Reply``."""

    def __init__(
        self, memory_bytes: int, extra_args: tuple[str, ...] = (), cwd: str | None = None
    ) -> None:
        super().__init__()
        self._memory_bytes = memory_bytes
        # coqtop writes lia/nia/nra certificate caches into its working directory: give it a
        # private one so it never writes into the user's.
        self._cwd = cwd
        self._extra_args = extra_args
        self._buffer = ""
        self.prompt = 0
        self.sentences_sent = 0

    async def start(self, timeout: float) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            coqtop_binary(),
            "-quiet",
            "-emacs",
            *self._extra_args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=memory_limiter(self._memory_bytes),
            start_new_session=True,
            cwd=self._cwd,
        )
        self._buffer = ""
        try:
            self.prompt = parse_reply(await self._read_reply(timeout)).prompt
        except TimeoutError:
            self.kill()
            raise ProverTimeout(f"coqtop did not start within {timeout:.0f}s") from None

    async def send(self, sentence: str, timeout: float) -> Reply:
        """Send one sentence (which must end in '.') and wait for its prompt.

        Raises ``ProverTimeout`` when no prompt comes within ``timeout`` seconds (the process
        is killed: the caller restarts) and ``ProverCrash`` when the process dies or answers
        out of step. A send that is cancelled half-way leaves ``in_flight`` set, and such a
        process must not be reused (its next reply would belong to this sentence).
        """
        if not self.alive or self._proc is None or self._proc.stdin is None:
            raise ProverCrash("coqtop is not running")
        self.sentences_sent += 1
        self.in_flight = True
        try:
            self._proc.stdin.write(sentence.encode() + b"\n")
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ProverCrash(f"coqtop closed its input: {exc}") from exc
        try:
            raw = await self._read_reply(timeout)
        except TimeoutError:
            # Interrupting (SIGINT) works for some tactics, not for vm_compute; a fresh process
            # is cheaper than reasoning about the state of an interrupted one.
            self.kill()
            raise ProverTimeout(
                f"no answer from coqtop within {timeout:.1f}s to {sentence[:80]!r}"
            ) from None
        if self._buffer.strip():
            # A second prompt or stray output: replies would be one behind from now on.
            self.kill()
            raise ProverCrash(f"coqtop answered out of step: {self._buffer[:120]!r}")
        reply = parse_reply(raw)
        self.prompt = reply.prompt
        self.in_flight = False
        if reply.error is not None and TIMEOUT_MARK in reply.error:
            kill_descendants(self.pid)  # what the interrupted tactic started (psatz's csdp)
        return reply

    async def _read_reply(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            end = self._buffer.find("</prompt>")
            if end >= 0:
                end += len("</prompt>")
                raw, self._buffer = self._buffer[:end], self._buffer[end:]
                return raw
            if len(self._buffer) > MAX_REPLY_BYTES:
                self.kill()
                raise ProverCrash("coqtop reply over the size limit")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            chunk = await asyncio.wait_for(self._proc.stdout.read(_READ_CHUNK), remaining)
            if not chunk:
                code = await self._proc.wait()
                raise ProverCrash(
                    f"coqtop exited with code {code}; last output: {self._buffer[-300:]!r}"
                )
            self._buffer += chunk.decode(errors="replace")
